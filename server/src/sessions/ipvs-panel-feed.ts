import type { IpvsPanelEvent } from '../../../common/api.js';
import { IpvsParseError } from '../ipvs/ipvs-parse-error.js';
import { ConnectionHistory, PANEL_SCRIPT, panelTable, parsePanelReading } from '../ipvs/panel-table.js';
import type { Logger } from '../logger.js';
import { ExecTimeoutError, HostDownError, type RunningEnvironment } from '../runtime/runtime.js';

/**
 * Engine calls the panels of all sessions may have running at once. A room of open panels then
 * reads less often each, instead of queueing more work on the engine than it can do.
 */
export class ReadSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`ReadSlots: size must be a positive integer, got ${size}`);
    this.free = size;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line, so nobody overtakes the queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

export interface PanelFeedSettings {
  /** Pause between the end of one reading and the start of the next. */
  readonly intervalMs: number;
  /** Longest one reading may take. */
  readonly timeoutMs: number;
  /** After a reading failed, the next waits at least this long: a host that is restarting needs seconds. */
  readonly retryMs: number;
  readonly slots: ReadSlots;
  readonly log: Logger;
}

interface Listener {
  event(event: IpvsPanelEvent): void;
  /** The feed ended (the session ended, or its environment was reset into a new one). */
  ended(): void;
}

/**
 * The live reading of one session's director for its panels. It reads the kernel only while at
 * least one page listens (a closed panel costs nothing), through the trusted checker (reading
 * changes nothing in the learner's container), one reading at a time however many pages listen,
 * and tells them only what changed.
 */
export class IpvsPanelFeed {
  private readonly listeners = new Set<Listener>();
  /** The last event sent, for a page that subscribes while the feed runs. */
  private last: IpvsPanelEvent | undefined;
  private lastShape = '';
  private running = false;
  private wake: (() => void) | undefined;
  private disposed = false;
  /** Kept while nobody listens: a panel opened again goes on from the connections it showed. */
  private readonly history = new ConnectionHistory();
  /** host name → IP address, to name real servers: an environment's hosts never change. */
  private readonly hostIps: ReadonlyMap<string, string>;

  constructor(
    private readonly environment: RunningEnvironment,
    readonly host: string,
    private readonly settings: PanelFeedSettings,
  ) {
    this.hostIps = new Map([...environment.hosts.values()].map((h) => [h.name, h.ip]));
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  subscribe(listener: Listener): { dispose(): void } {
    if (this.disposed) throw new Error(`the IPVS panel of session ${this.environment.sessionId} has ended`);
    if (this.last) listener.event(this.last);
    this.listeners.add(listener);
    if (!this.running) {
      this.running = true;
      void this.loop().finally(() => (this.running = false));
    }
    return {
      dispose: () => {
        this.listeners.delete(listener);
        if (this.listeners.size === 0) this.wake?.();
      },
    };
  }

  /** Stops reading for good (the session ended) and tells the listeners. */
  dispose(): void {
    this.disposed = true;
    const listeners = [...this.listeners];
    this.listeners.clear();
    this.wake?.();
    for (const l of listeners) l.ended();
  }

  private get wanted(): boolean {
    return this.listeners.size > 0 && !this.disposed;
  }

  private async loop(): Promise<void> {
    while (this.wanted) {
      const event = await this.read();
      if (!this.wanted) break;
      this.publish(event);
      await this.pause(event.type === 'table' ? this.settings.intervalMs : Math.max(this.settings.retryMs, this.settings.intervalMs));
    }
    // What nobody saw being read may be stale by the next subscription: it waits for a fresh one.
    this.last = undefined;
    this.lastShape = '';
  }

  /** Sends the event unless only its time differs from the last: an idle table costs no traffic. */
  private publish(event: IpvsPanelEvent): void {
    const shape = JSON.stringify({ ...event, at: 0 });
    if (shape === this.lastShape) return;
    this.lastShape = shape;
    this.last = event;
    for (const l of [...this.listeners]) l.event(event);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async read(): Promise<IpvsPanelEvent> {
    const { host } = this;
    const unavailable = (message: string): IpvsPanelEvent => ({ type: 'unavailable', host, at: Date.now(), message });
    try {
      const result = await this.settings.slots.run(() => this.environment.check(host, PANEL_SCRIPT, this.settings.timeoutMs));
      if (result.exitCode === 3)
        return unavailable(`${host} has no IPVS table: /proc/net/ip_vs is missing, so the Docker engine's kernel has no IPVS module loaded`);
      if (result.exitCode !== 0)
        return unavailable(`reading the IPVS table of ${host} failed with exit ${result.exitCode}: ${result.stderr.trim().slice(0, 200) || 'no message'}`);
      return panelTable(parsePanelReading(result.stdout), this.history, { host, at: Date.now(), hostIps: this.hostIps });
    } catch (e) {
      if (e instanceof HostDownError) return unavailable(e.message);
      if (e instanceof ExecTimeoutError) return unavailable(`reading the IPVS table of ${host} took longer than ${this.settings.timeoutMs} ms; trying again`);
      if (e instanceof IpvsParseError) return unavailable(`the IPVS table of ${host} could not be read: ${e.message}`);
      // The engine's own words may name its internals: they go to the log, not to the page.
      this.settings.log.warn('ipvs panel read failed', { sessionId: this.environment.sessionId, host, error: (e as Error).message });
      return unavailable(`reading the IPVS table of ${host} failed; the server's log says why; trying again`);
    }
  }
}
