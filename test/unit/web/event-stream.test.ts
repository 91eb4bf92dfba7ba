/**
 * The page's SSE reader (web/src/event-stream.ts): the parser against chunks split anywhere, and the
 * JSON stream against a stubbed fetch: events, a final event, refusals, reconnects, and close()
 * aborting the request (the IPVS panel relies on it: the server polls only while a stream is open).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { JsonEventStream, SseParser, type EventStreamState } from '../../../web/src/event-stream.js';

describe('SseParser', () => {
  it('reads events split anywhere, with CRLF, comments and multi-line data', () => {
    const events: [string, string][] = [];
    const parser = new SseParser((name, data) => events.push([name, data]));
    for (const chunk of [': heartbeat\n', 'event: ta', 'ble\r', '\ndata: {"a":1}\r\n\r\n', 'data: x\ndata: y\n', '\n']) parser.push(chunk);
    assert.deepEqual(events, [
      ['table', '{"a":1}'],
      ['message', 'x\ny'],
    ]);
  });
});

type Event = { readonly type: string; readonly n?: number };

interface Fetched {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly signal: AbortSignal;
}

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** Answers each fetch with the next of `answers` (a body of SSE text, or a status and error). */
function stubFetch(
  answers: readonly ({ readonly sse: string; readonly keepOpen?: boolean } | { readonly status: number; readonly error: string })[],
): Fetched[] {
  const calls: Fetched[] = [];
  // The stream fetches a string URL, always.
  globalThis.fetch = ((input: string, init?: RequestInit) => {
    const answer = answers[calls.length];
    const signal = init!.signal!;
    calls.push({ url: input, headers: init!.headers as Record<string, string>, signal });
    if (!answer) return new Promise<Response>(() => {});
    if ('status' in answer) return Promise.resolve(Response.json({ error: answer.error }, { status: answer.status }));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(answer.sse));
        if (!answer.keepOpen) controller.close();
        signal.addEventListener('abort', () => controller.error(new DOMException('aborted', 'AbortError')));
      },
    });
    return Promise.resolve(new Response(body, { headers: { 'content-type': 'text/event-stream' } }));
  }) as typeof fetch;
  return calls;
}

/** A stream of `Event`s whose states and events are recorded, resolving `done` once it stops. */
function record(options: { isFinal?: (e: Event) => boolean; finalDetail?: string; accept?: (d: unknown) => d is Event } = {}) {
  const states: [EventStreamState, string | undefined][] = [];
  const events: Event[] = [];
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const stream = new JsonEventStream<Event>({
    name: 'test events',
    url: '/api/things/1/events',
    token: 'tok',
    ...options,
    handlers: {
      event: (e) => events.push(e),
      state: (state, detail) => {
        states.push([state, detail]);
        if (state === 'stopped') stopped();
      },
    },
  });
  return { stream, states, events, done };
}

const sse = (...events: Event[]) => events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');

describe('JsonEventStream', () => {
  it('sends the token as a bearer header, hands over JSON events and stops after a final one', async () => {
    const calls = stubFetch([{ sse: sse({ type: 'tick', n: 1 }, { type: 'ended' }, { type: 'tick', n: 2 }), keepOpen: true }]);
    const { states, events, done } = record({ isFinal: (e) => e.type === 'ended', finalDetail: 'it ended' });
    await done;
    assert.equal(calls[0]!.url, '/api/things/1/events');
    assert.equal(calls[0]!.headers.Authorization, 'Bearer tok');
    assert.deepEqual(events, [{ type: 'tick', n: 1 }, { type: 'ended' }]);
    assert.deepEqual(states, [
      ['connecting', undefined],
      ['live', undefined],
      ['stopped', 'it ended'],
    ]);
    assert.equal(calls[0]!.signal.aborted, true, 'the request is released');
    assert.equal(calls.length, 1);
  });

  it('drops events that are not JSON or not of the accepted shape', async () => {
    stubFetch([{ sse: 'data: {oops\n\n' + sse({ type: 'bad' }, { type: 'good' }, { type: 'ended' }) }]);
    const accept = (d: unknown): d is Event => (d as Event).type !== 'bad';
    const { events, done } = record({ accept, isFinal: (e) => e.type === 'ended' });
    await done;
    assert.deepEqual(
      events.map((e) => e.type),
      ['good', 'ended'],
    );
  });

  for (const status of [403, 404, 410])
    it(`stops for good on ${status}, with the server's reason`, async () => {
      const calls = stubFetch([{ status, error: `session abc answered ${status}` }]);
      const { states, done } = record();
      await done;
      assert.deepEqual(states.at(-1), ['stopped', `session abc answered ${status}`]);
      assert.equal(calls.length, 1);
    });

  it('reconnects after a failure or a closed stream, until close() aborts it', async () => {
    const calls = stubFetch([{ status: 502, error: 'bad gateway' }]);
    const { stream, states, done } = record();
    while (!states.some(([s]) => s === 'reconnecting')) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(states[1], ['reconnecting', 'bad gateway; retrying in 1 s']);
    stream.close();
    await done;
    assert.deepEqual(states.at(-1), ['stopped', undefined]);
    assert.equal(calls.length, 1, 'no new request once closed');
  });

  it('aborts an open stream on close()', async () => {
    const calls = stubFetch([{ sse: sse({ type: 'tick' }), keepOpen: true }]);
    const { stream, events, states, done } = record();
    while (events.length === 0) await new Promise((r) => setTimeout(r, 5));
    stream.close();
    await done;
    assert.equal(calls[0]!.signal.aborted, true);
    assert.deepEqual(
      states.map(([s]) => s),
      ['connecting', 'live', 'stopped'],
    );
  });
});
