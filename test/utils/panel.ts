/**
 * The live IPVS panel's stream (`GET /api/sessions/:id/ipvs`) as a test or a benchmark reads it,
 * and how many readings the engine ran for it.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IpvsPanelEvent, IpvsPanelTable, SessionCreated } from '../../common/api.js';
import { LABEL_ROLE, LABEL_SESSION } from '../../server/src/runtime/docker/engine.js';
import { SseParser } from '../../web/src/event-stream.js';
import { dockerode } from './engine.js';

export type OpenPanel = ReturnType<typeof openPanel>;

/** One open panel stream: every event it got, and a way to wait for one. */
export function openPanel(baseUrl: string, session: SessionCreated) {
  const abort = new AbortController();
  const events: IpvsPanelEvent[] = [];
  /** When each event arrived (performance.now()), index for index. */
  const arrivals: number[] = [];
  const done = (async () => {
    const res = await fetch(`${baseUrl}/api/sessions/${session.id}/ipvs`, { headers: { Authorization: `Bearer ${session.token}` }, signal: abort.signal });
    if (res.status !== 200) assert.fail(`the panel stream answered ${res.status}: ${await res.text()}`);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const parser = new SseParser((name, data) => {
      const event = JSON.parse(data) as IpvsPanelEvent;
      assert.equal(name, event.type);
      events.push(event);
      arrivals.push(performance.now());
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.push(value);
    }
  })().catch((e: Error) => {
    if (!abort.signal.aborted) throw e;
  });
  return {
    events,
    arrivals,
    close: () => abort.abort(),
    done,
    /** The first table received so far or later that satisfies `test`; fails with the last event seen. */
    async table(test: (t: IpvsPanelTable) => boolean, what: string, timeoutMs = 60_000): Promise<IpvsPanelTable> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find((e): e is IpvsPanelTable => e.type === 'table' && test(e));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no panel event showed ${what} within ${timeoutMs} ms; last: ${JSON.stringify(events.at(-1))}`);
        await sleep(100);
      }
    },
  };
}

/** How many commands the engine ran in the session's checkers (or, with `sessionId` undefined, in every checker) during `ms`. */
export async function checkerExecs(sessionId: string | undefined, ms: number): Promise<number> {
  const docker = await dockerode();
  const since = Math.floor(Date.now() / 1000);
  await sleep(ms);
  const until = Math.ceil(Date.now() / 1000);
  const stream = await docker.getEvents({
    since,
    until,
    filters: {
      type: ['container'],
      event: ['exec_create'],
      label: [...(sessionId === undefined ? [] : [`${LABEL_SESSION}=${sessionId}`]), `${LABEL_ROLE}=checker`],
    },
  });
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text.split('\n').filter((l) => l.trim() !== '').length;
}
