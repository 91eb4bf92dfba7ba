import type { ApiError, WorkshopEvent } from '../../common/api.js';

export type EventStreamState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface EventStreamHandlers {
  event(event: WorkshopEvent): void;
  /** `stopped` is final: the workshop ended, the secret was refused, or `close()` was called. */
  state(state: EventStreamState, detail?: string): void;
}

const MAX_BACKOFF_MS = 15_000;

/**
 * Reads `text/event-stream` chunk by chunk: lines may arrive split anywhere, events end at a blank
 * line. Comments (heartbeats) and `id`/`retry` fields are ignored.
 */
export class SseParser {
  private buffer = '';
  private name = '';
  private data: string[] = [];

  constructor(private readonly onEvent: (name: string, data: string) => void) {}

  push(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const end = /\r\n|\r|\n/.exec(this.buffer);
      // A lone \r at the end may be the first half of \r\n: wait for the next chunk.
      if (!end || (end[0] === '\r' && end.index === this.buffer.length - 1)) return;
      const line = this.buffer.slice(0, end.index);
      this.buffer = this.buffer.slice(end.index + end[0].length);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent(this.name || 'message', this.data.join('\n'));
      this.name = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') this.name = value;
    else if (field === 'data') this.data.push(value);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

async function errorOf(res: Response): Promise<string> {
  try {
    return ((await res.json()) as ApiError).error ?? `answered ${res.status}`;
  } catch {
    return `answered ${res.status}`;
  }
}

/**
 * A workshop's live events (`GET /api/workshops/:id/events`). EventSource cannot send the
 * instructor's secret as a header, so this reads the stream with fetch, and reconnects with
 * exponential backoff until the workshop ends, the secret is refused or `close()` is called.
 * Events sent while it was away are lost: a page refetches the whole view when it is `live` again.
 */
export class WorkshopEventStream {
  private readonly abort = new AbortController();
  private attempt = 0;

  constructor(
    private readonly url: string,
    private readonly secret: string,
    private readonly handlers: EventStreamHandlers,
  ) {
    // Not in this tick: the caller gets the stream before the first handler call mentions it.
    queueMicrotask(() => void this.run());
  }

  close(): void {
    this.abort.abort();
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let detail: string | undefined;
    while (!signal.aborted) {
      if (this.attempt === 0) this.handlers.state('connecting');
      let ended = false;
      try {
        const res = await fetch(this.url, { headers: { Authorization: `Bearer ${this.secret}`, Accept: 'text/event-stream' }, cache: 'no-store', signal });
        // Refused or gone: retrying cannot help.
        if (res.status === 403 || res.status === 404) return this.handlers.state('stopped', await errorOf(res));
        if (!res.ok || !res.body) throw new Error(await errorOf(res));
        this.attempt = 0;
        this.handlers.state('live');
        const parser = new SseParser((name, data) => {
          let event: WorkshopEvent;
          try {
            event = JSON.parse(data) as WorkshopEvent;
          } catch {
            return console.warn(`workshop events: ignoring an event ${name} whose data is not JSON`);
          }
          if (event.type === 'ended') ended = true;
          this.handlers.event(event);
        });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.push(value);
        }
        detail = 'the stream closed';
      } catch (e) {
        if (signal.aborted) break;
        detail = (e as Error).message;
      }
      if (ended) return this.handlers.state('stopped', 'the workshop has ended');
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempt);
      this.attempt++;
      this.handlers.state('reconnecting', `${detail}; retrying in ${Math.round(delay / 1000)} s`);
      await sleep(delay, signal);
    }
    this.handlers.state('stopped');
  }
}
