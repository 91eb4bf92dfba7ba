import type { ApiError } from '../../common/api.js';

export type EventStreamState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface EventStreamHandlers<T> {
  event(event: T): void;
  /** `stopped` is final: a final event came, the credential was refused, the resource is gone, or `close()` was called. */
  state(state: EventStreamState, detail?: string): void;
}

export interface JsonEventStreamOptions<T> {
  /** Names the stream in console warnings (`workshop events`). */
  readonly name: string;
  readonly url: string;
  /** Sent as `Authorization: Bearer …`: EventSource cannot send headers, which is why this reads with fetch. */
  readonly token: string;
  readonly handlers: EventStreamHandlers<T>;
  /**
   * Whether an event's data has the shape of a `T`; events that do not are dropped with a warning.
   * By default, any object with a string `type`.
   */
  readonly accept?: (data: unknown) => data is T;
  /** Whether `event` ends the stream for good (a workshop's `ended`): no reconnect follows it. */
  readonly isFinal?: (event: T) => boolean;
  /** The `stopped` detail after a final event. */
  readonly finalDetail?: string;
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

function hasType(data: unknown): data is { readonly type: string } {
  return typeof data === 'object' && data !== null && typeof (data as { type?: unknown }).type === 'string';
}

/** Answers after which retrying cannot help: the credential was refused, or the resource is gone. */
const FINAL_STATUSES: readonly number[] = [403, 404, 410];

/**
 * A stream of JSON events (`text/event-stream`, each event's data one JSON value), read with
 * fetch so the token goes in a header, not the URL. It reconnects with exponential backoff until a
 * final event comes, the server answers 403, 404 or 410, or `close()` is called; `close()` aborts
 * the request at once, so the server sees the stream go. Events sent while it was away are lost: a
 * page that needs them refetches when it is `live` again.
 */
export class JsonEventStream<T> {
  private readonly abort = new AbortController();
  private attempt = 0;

  constructor(private readonly options: JsonEventStreamOptions<T>) {
    // Not in this tick: the caller gets the stream before the first handler call mentions it.
    queueMicrotask(() => void this.run());
  }

  close(): void {
    this.abort.abort();
  }

  private async run(): Promise<void> {
    const { name, url, token, handlers, isFinal, finalDetail } = this.options;
    const accept = this.options.accept ?? (hasType as (data: unknown) => data is T);
    const signal = this.abort.signal;
    let detail: string | undefined;
    while (!signal.aborted) {
      if (this.attempt === 0) handlers.state('connecting');
      let ended = false;
      try {
        const res = await fetch(url, { headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' }, cache: 'no-store', signal });
        if (FINAL_STATUSES.includes(res.status)) return handlers.state('stopped', await errorOf(res));
        if (!res.ok || !res.body) throw new Error(await errorOf(res));
        this.attempt = 0;
        handlers.state('live');
        const parser = new SseParser((eventName, data) => {
          // Nothing after a final event counts, even in the same chunk.
          if (ended) return;
          let value: unknown;
          try {
            value = JSON.parse(data);
          } catch {
            return console.warn(`${name}: ignoring an event ${eventName} whose data is not JSON`);
          }
          if (!accept(value)) return console.warn(`${name}: ignoring an event ${eventName} of an unexpected shape`);
          if (isFinal?.(value)) ended = true;
          handlers.event(value);
        });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.push(value);
          // A handler may have closed the stream: read no further.
          if (ended || signal.aborted) break;
        }
        detail = 'the stream closed';
      } catch (e) {
        if (signal.aborted) break;
        detail = (e as Error).message;
      }
      if (ended) {
        this.abort.abort();
        return handlers.state('stopped', finalDetail);
      }
      if (signal.aborted) break;
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempt);
      this.attempt++;
      handlers.state('reconnecting', `${detail}; retrying in ${Math.round(delay / 1000)} s`);
      await sleep(delay, signal);
    }
    handlers.state('stopped');
  }
}
