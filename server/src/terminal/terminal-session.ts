import * as pty from 'node-pty';
import { clampSize } from '../../../common/protocol.js';
import { ReplayBuffer } from './replay-buffer.js';

export interface ShellCommand {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export interface Disposable {
  dispose(): void;
}

/** Largest output chunk handed to listeners at once (UTF-16 code units). */
const MAX_CHUNK = 64 * 1024;
/** While flooding, output arriving this soon after the last chunk is batched with what follows. */
const BATCH_WINDOW_MS = 4;
/** A chunk at least this large means the shell is flooding (a pty read is at most 4 KiB). */
const FLOOD_CHUNK = 1024;

type OutputListener = (offset: number, data: string) => void;
type ExitListener = (exitCode: number) => void;

/**
 * A shell running in a pseudo-terminal, independent of any WebSocket: pages come and go, the
 * shell and its output stay. It knows nothing of ws or HTTP, so it is tested on its own.
 *
 * When the shell exits (the learner typed `exit`), the next input starts a fresh one; the output
 * offsets carry on, so reconnecting pages are not confused.
 */
export class TerminalSession {
  private process: pty.IPty | undefined;
  private readonly buffer: ReplayBuffer;
  private readonly outputListeners = new Set<OutputListener>();
  private readonly exitListeners = new Set<ExitListener>();
  private readonly disposeListeners = new Set<() => void>();
  /** Pages currently holding the shell back (flow control); the pty reads again when none do. */
  private readonly holds = new Set<object>();
  private cols = 100;
  private rows = 30;
  private disposed = false;

  constructor(
    private readonly command: ShellCommand,
    options: { replayCapacity: number },
  ) {
    this.buffer = new ReplayBuffer(options.replayCapacity);
    this.spawn();
  }

  get running(): boolean {
    return this.process !== undefined;
  }

  /** Offset one past the last output so far. */
  get outputEnd(): number {
    return this.buffer.end;
  }

  replay(from: number) {
    return this.buffer.since(from);
  }

  /** Resolves at the first output byte (the prompt), or rejects after `timeoutMs`. */
  waitForOutput(timeoutMs: number): Promise<void> {
    if (this.buffer.end > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose();
        exitSub.dispose();
        reject(new Error(`the shell printed nothing within ${timeoutMs} ms (${this.command.file} ${this.command.args.join(' ')})`));
      }, timeoutMs);
      const sub = this.onOutput(() => {
        clearTimeout(timer);
        sub.dispose();
        exitSub.dispose();
        resolve();
      });
      const exitSub = this.onExit((code) => {
        clearTimeout(timer);
        sub.dispose();
        exitSub.dispose();
        reject(new Error(`the shell exited with code ${code} before printing anything (${this.command.file} ${this.command.args.join(' ')})`));
      });
    });
  }

  write(data: string): void {
    if (this.disposed) return;
    if (!this.process) this.spawn();
    this.process?.write(data);
  }

  resize(cols: number, rows: number): void {
    const size = clampSize(cols, rows);
    this.cols = size.cols;
    this.rows = size.rows;
    this.process?.resize(size.cols, size.rows);
  }

  /**
   * Stops reading the shell's output on behalf of `holder` until release(holder). While paused,
   * the shell blocks once the kernel's pty buffer is full; input (Ctrl-C) still gets through.
   */
  hold(holder: object): void {
    const wasRunning = this.holds.size === 0;
    this.holds.add(holder);
    if (wasRunning) this.process?.pause();
  }

  release(holder: object): void {
    if (!this.holds.delete(holder)) return;
    if (this.holds.size === 0) this.process?.resume();
  }

  get paused(): boolean {
    return this.holds.size > 0;
  }

  onOutput(listener: OutputListener): Disposable {
    this.outputListeners.add(listener);
    return { dispose: () => this.outputListeners.delete(listener) };
  }

  /** Called once when the terminal ends for good (its session was removed). */
  onDispose(listener: () => void): Disposable {
    this.disposeListeners.add(listener);
    return { dispose: () => this.disposeListeners.delete(listener) };
  }

  onExit(listener: ExitListener): Disposable {
    this.exitListeners.add(listener);
    return { dispose: () => this.exitListeners.delete(listener) };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.flushTimer);
    for (const l of this.disposeListeners) l();
    this.disposeListeners.clear();
    const p = this.process;
    this.process = undefined;
    this.outputListeners.clear();
    this.exitListeners.clear();
    p?.kill();
  }

  /**
   * A flooding shell yields a pty read every few KiB, and the JSON and WebSocket cost per frame
   * then dominates. So output that follows a flush within BATCH_WINDOW_MS is gathered and sent
   * together when the window ends (or at MAX_CHUNK). Only while the shell floods (the last chunk
   * was large): output after a quiet spell or a small chunk, such as the echo of a keystroke,
   * goes out at once, so interactive latency does not pay for batching.
   */
  private pending = '';
  private flushTimer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private lastFlushSize = 0;

  private collect(data: string): void {
    this.pending += data;
    if (this.pending.length >= MAX_CHUNK) return this.flush();
    if (this.flushTimer) return;
    if (this.lastFlushSize < FLOOD_CHUNK) return this.flush();
    const wait = this.lastFlush + BATCH_WINDOW_MS - performance.now();
    if (wait <= 0) return this.flush();
    this.flushTimer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.lastFlush = performance.now();
    this.lastFlushSize = this.pending.length;
    if (!this.pending) return;
    const data = this.pending;
    this.pending = '';
    const offset = this.buffer.append(data);
    for (const l of this.outputListeners) l(offset, data);
  }

  private spawn(): void {
    const p = pty.spawn(this.command.file, [...this.command.args], {
      name: 'xterm-256color',
      cols: this.cols,
      rows: this.rows,
      env: { ...this.command.env },
    });
    this.process = p;
    if (this.holds.size > 0) p.pause();
    p.onData((data) => this.collect(data));
    p.onExit(({ exitCode }) => {
      if (this.process !== p) return;
      this.flush();
      this.process = undefined;
      if (this.disposed) return;
      const offset = this.buffer.append(`\r\n[the shell exited with code ${exitCode}; press Enter for a new one]\r\n`);
      for (const l of this.outputListeners) l(offset, this.buffer.since(offset).data);
      for (const l of this.exitListeners) l(exitCode);
    });
  }
}
