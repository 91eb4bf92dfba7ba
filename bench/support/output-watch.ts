/**
 * Watches a terminal's output as it arrives, keeping only its tail, so a benchmark can stream
 * hundreds of megabytes and still wait for a marker or a prompt, timestamped at the moment the
 * chunk that completed it arrived (not when a waiting promise got around to running).
 */
import type { TerminalClient } from '../../server/src/client/terminal-client.js';

type Waiter = (arrivedAt: number) => void;

export class OutputWatch {
  private text = '';
  /** Code units pushed so far. */
  received = 0;
  /** Longest single chunk so far. */
  largestChunk = 0;
  /** performance.now() of the last chunk. */
  lastChunkAt = performance.now();
  private readonly waiters = new Set<Waiter>();

  /** @param keep how many code units of the tail to keep; a marker must fit in it. */
  constructor(private readonly keep = 4096) {}

  get tail(): string {
    return this.text;
  }

  push(data: string, arrivedAt = performance.now()): void {
    if (data.length === 0) return;
    this.text = data.length >= this.keep ? data.slice(-this.keep) : (this.text + data).slice(-this.keep);
    this.received += data.length;
    this.largestChunk = Math.max(this.largestChunk, data.length);
    this.lastChunkAt = arrivedAt;
    for (const w of [...this.waiters]) w(arrivedAt);
  }

  /** The output after `mark` (a value of `received`), as far as the tail still holds it. */
  since(mark: number): string {
    const n = this.received - mark;
    return n <= 0 ? '' : this.text.slice(Math.max(0, this.text.length - n));
  }

  /** Resolves with the arrival time of the chunk after which `test` first holds. */
  until(test: (watch: OutputWatch) => boolean, timeoutMs: number, what: string): Promise<number> {
    if (test(this)) return Promise.resolve(performance.now());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = (arrivedAt) => {
        if (!test(this)) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(arrivedAt);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${what} did not appear within ${timeoutMs} ms; last output: ${JSON.stringify(this.text.slice(-300))}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Resolves once no output arrived for `quietMs` (a prompt that has finished drawing). */
  async quiet(quietMs: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const idle = performance.now() - this.lastChunkAt;
      if (idle >= quietMs) return;
      if (performance.now() > deadline) throw new Error(`output did not stop for ${quietMs} ms within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, quietMs - idle + 1));
    }
  }
}

/**
 * Feeds a TerminalClient's output into a watch. The client still parses frames, skips replayed
 * overlap and acks; the watch drains `output` (and the `messages` log, which would otherwise hold
 * every chunk ever received) after each frame, so memory stays flat however much streams through.
 * The client's own waitFor() sees nothing afterwards: use the watch.
 */
export function watchClient(client: TerminalClient, keep = 4096): OutputWatch {
  const watch = new OutputWatch(keep);
  const drain = () => {
    const arrivedAt = performance.now();
    const data = client.output;
    client.output = '';
    client.messages.splice(0);
    watch.push(data, arrivedAt);
  };
  drain();
  // Registered after the client's own listener, so it runs once the client has appended the frame.
  client.ws.on('message', drain);
  return watch;
}
