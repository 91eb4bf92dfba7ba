/** Largest output chunk handed on at once (UTF-16 code units). */
export const MAX_CHUNK = 64 * 1024;
/** While flooding, output arriving this soon after the last chunk is batched with what follows. */
export const BATCH_WINDOW_MS = 4;
/** A chunk at least this large means the shell is flooding (a pty read is at most 4 KiB). */
export const FLOOD_CHUNK = 1024;

/** The time and timers an {@link OutputBatcher} uses, injected so tests can drive time by hand. */
export interface BatchClock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: BatchClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};

/**
 * A flooding shell yields a pty read every few KiB, and the JSON and WebSocket cost per frame
 * then dominates. So output that follows a flush within BATCH_WINDOW_MS is gathered and emitted
 * together when the window ends (or at MAX_CHUNK). Only while the shell floods (the last chunk
 * was large): output after a quiet spell or a small chunk, such as the echo of a keystroke,
 * goes out at once, so interactive latency does not pay for batching.
 */
export class OutputBatcher {
  private pending = '';
  /** Boxed, so any handle the clock returns (even 0) reads as "a timer is set". */
  private timer: { readonly handle: unknown } | undefined;
  private lastFlush = 0;
  private lastFlushSize = 0;
  private disposed = false;

  constructor(
    private readonly emit: (data: string) => void,
    private readonly clock: BatchClock = systemClock,
  ) {}

  push(data: string): void {
    if (this.disposed) return;
    this.pending += data;
    if (this.pending.length >= MAX_CHUNK) return this.flush();
    if (this.timer) return;
    if (this.lastFlushSize < FLOOD_CHUNK) return this.flush();
    const wait = this.lastFlush + BATCH_WINDOW_MS - this.clock.now();
    if (wait <= 0) return this.flush();
    this.timer = { handle: this.clock.setTimeout(() => this.flush(), wait) };
  }

  /** Emits what is pending now (for example when the shell exits) and starts a new window. */
  flush(): void {
    this.cancelTimer();
    this.lastFlush = this.clock.now();
    this.lastFlushSize = this.pending.length;
    if (!this.pending) return;
    const data = this.pending;
    this.pending = '';
    this.emit(data);
  }

  /** Drops what is pending and cancels the timer; later pushes are ignored. */
  dispose(): void {
    this.disposed = true;
    this.cancelTimer();
    this.pending = '';
  }

  private cancelTimer(): void {
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
  }
}
