import { randomBytes } from 'node:crypto';
import * as pty from 'node-pty';
import { clampSize } from '../../../common/protocol.js';
import type { ShellCommand } from '../runtime/runtime.js';
import { OutputBatcher } from './output-batcher.js';
import { ReplayBuffer } from './replay-buffer.js';

export interface Disposable {
  dispose(): void;
}

type OutputListener = (offset: number, data: string) => void;
type ExitListener = (exitCode: number) => void;

/**
 * A shell running in a pseudo-terminal, independent of any WebSocket: pages come and go, the
 * shell and its output stay. It knows nothing of ws or HTTP, so it is tested on its own.
 *
 * When the shell exits (the learner typed `exit`), the next input starts a fresh one; the output
 * offsets carry on, so reconnecting pages are not confused. A terminal of a restarted server is a
 * new one with a new `id`: a page that sees another id knows its offsets no longer apply.
 *
 * Whatever the pty does (an exit racing a resize, a write to a closed pty) is absorbed here: a
 * dead pty is treated as an exited shell, never as an exception thrown at a caller.
 */
export class TerminalSession {
  /** Names this terminal's output stream; offsets are only meaningful within one id. */
  readonly id = randomBytes(6).toString('hex');
  private process: pty.IPty | undefined;
  private readonly buffer: ReplayBuffer;
  private readonly outputListeners = new Set<OutputListener>();
  private readonly exitListeners = new Set<ExitListener>();
  private readonly disposeListeners = new Set<(reconnect: string | undefined) => void>();
  /** Gathers the shell's output while it floods; what it emits is recorded, then sent to listeners. */
  private readonly output = new OutputBatcher((data) => {
    const offset = this.buffer.append(data);
    for (const l of this.outputListeners) l(offset, data);
  });
  /** Pages currently holding the shell back (flow control); the pty reads again when none do. */
  private readonly holds = new Set<object>();
  private cols = 100;
  private rows = 30;
  private disposed = false;

  /**
   * @param options.spawnNow start the shell at once (a new session waits for its prompt); a
   * restored session starts its shell only when a page attaches or types.
   */
  constructor(
    private readonly command: ShellCommand,
    options: { replayCapacity: number; spawnNow?: boolean },
  ) {
    this.buffer = new ReplayBuffer(options.replayCapacity);
    if (options.spawnNow ?? true) this.spawn();
  }

  /** Starts a shell if none runs (a page attached to a restored session, or after `exit`). */
  ensureRunning(): void {
    if (!this.disposed && !this.process) this.spawn();
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
    this.ensureRunning();
    try {
      this.process?.write(data);
    } catch {
      // The pty closed under us; its exit event follows and tells the pages.
    }
  }

  resize(cols: number, rows: number): void {
    const size = clampSize(cols, rows);
    this.cols = size.cols;
    this.rows = size.rows;
    try {
      this.process?.resize(size.cols, size.rows);
    } catch {
      // EBADF: the shell exited a moment ago and its pty is closed. The size is kept for the
      // next shell; the exit event reports the end of this one.
    }
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

  /**
   * Called once when the terminal ends: for good (its session was removed, `reconnect` undefined),
   * or because its session gets a new one (a reset), which pages should reconnect to.
   */
  onDispose(listener: (reconnect: string | undefined) => void): Disposable {
    this.disposeListeners.add(listener);
    return { dispose: () => this.disposeListeners.delete(listener) };
  }

  onExit(listener: ExitListener): Disposable {
    this.exitListeners.add(listener);
    return { dispose: () => this.exitListeners.delete(listener) };
  }

  /** Ends the shell for good; `reconnect`, when given, tells pages why a new terminal follows. */
  dispose(reconnect?: string): void {
    if (this.disposed) return;
    this.disposed = true;
    this.output.dispose();
    for (const l of this.disposeListeners) l(reconnect);
    this.disposeListeners.clear();
    const p = this.process;
    this.process = undefined;
    this.outputListeners.clear();
    this.exitListeners.clear();
    try {
      p?.kill();
    } catch {
      // Already gone.
    }
  }

  private spawn(): void {
    const p = pty.spawn(this.command.file, [...this.command.args], {
      name: 'xterm-256color',
      cols: this.cols,
      rows: this.rows,
      env: { ...this.command.env },
    });
    this.process = p;
    // node-pty throws unexpected socket errors unless someone listens for them; a failing pty
    // ends like an exited shell instead of taking the server down.
    (p as unknown as { on?: (event: 'error', listener: (e: Error) => void) => void }).on?.('error', () => undefined);
    if (this.holds.size > 0) p.pause();
    p.onData((data) => this.output.push(data));
    p.onExit(({ exitCode }) => {
      if (this.process !== p) return;
      this.output.flush();
      this.process = undefined;
      if (this.disposed) return;
      const offset = this.buffer.append(`\r\n[the shell exited with code ${exitCode}; press Enter for a new one]\r\n`);
      for (const l of this.outputListeners) l(offset, this.buffer.since(offset).data);
      for (const l of this.exitListeners) l(exitCode);
    });
  }
}
