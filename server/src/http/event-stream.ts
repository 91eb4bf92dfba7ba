import type { Response } from 'express';

/** A comment line this often keeps proxies from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;
/**
 * A page that stops reading (a frozen tab) must not make the server buffer for it forever: past
 * this much unsent, its stream is closed, and a page that wakes up reconnects.
 */
const MAX_UNSENT_BYTES = 1024 * 1024;

export interface EventStream {
  /** Sends one event: its name is `type`, its data the JSON of the whole event. */
  send(event: { readonly type: string }): void;
  end(): void;
  /** Runs `listener` once the stream closed, whoever closed it. */
  onClose(listener: () => void): void;
}

/** Answers a request with `text/event-stream` and keeps it open, with a heartbeat, until either side ends it. */
export function openEventStream(res: Response): EventStream {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
  res.write('retry: 3000\n\n');
  const heartbeat = setInterval(() => res.write(': still here\n\n'), HEARTBEAT_MS);
  res.on('close', () => clearInterval(heartbeat));
  return {
    send(event) {
      if (res.writableEnded) return;
      if (res.writableLength > MAX_UNSENT_BYTES) {
        res.end();
        return;
      }
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    },
    end() {
      res.end();
    },
    onClose(listener) {
      res.on('close', listener);
    },
  };
}
