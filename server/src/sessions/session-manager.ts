import { randomBytes } from 'node:crypto';
import type { CheckResult, SessionLimits } from '../../../common/api.js';
import { HttpError } from '../http-error.js';
import type { Lab } from '../labs/lab.js';
import { checkedHosts, shellHosts } from '../labs/lab.js';
import { fillTemplate, HOST_VARIABLE_SUFFIXES, networkVariableValues } from '../labs/template.js';
import type { Logger } from '../logger.js';
import { RuntimeCapacityError, type LabRuntime, type ResourceLimits, type RunningEnvironment } from '../runtime/runtime.js';
import { SessionStore, type EndReason, type SessionRecord } from '../store/session-store.js';
import { TerminalSession } from '../terminal/terminal-session.js';
import { ReadSlots } from './ipvs-panel-feed.js';
import { Session, type SessionHooks } from './session.js';

const SHELL_READY_TIMEOUT_MS = 60_000;
/** Sessions adopted at once after a restart: enough to be quick, few enough not to flood the engine. */
const ADOPT_CONCURRENCY = 8;
/** How long before the idle limit the learner's page is warned. */
const IDLE_WARNING_MS = 5 * 60_000;

type CheckListener = (session: Session, stepId: string, result: CheckResult, at: number) => void;
type HintListener = (session: Session, stepId: string, revealed: number, at: number) => void;
type EndListener = (sessionId: string, reason: EndReason) => void;

export interface SessionManagerOptions {
  readonly runtime: LabRuntime;
  readonly store: SessionStore;
  readonly labs: ReadonlyMap<string, Lab>;
  /** Build context name → image tag, for hosts with `image: { build }`. */
  readonly imageTags: ReadonlyMap<string, string>;
  /** The server's container limits; a lab host may override each. */
  readonly limits: ResourceLimits;
  readonly maxSessions: number;
  readonly idleMs: number;
  readonly checkTimeoutMs: number;
  /** Terminal history kept per session (code units), for reconnects and reloads. */
  readonly replayCapacity: number;
  /** The live IPVS panel: the pause between readings, and how many may run at once over all sessions. */
  readonly panel?: { readonly intervalMs: number; readonly concurrentReads: number };
  readonly log: Logger;
  readonly now?: () => number;
}

/**
 * Every session of this server: created, looked up with their token, swept when idle, deleted,
 * and taken back from the store after a restart.
 */
export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  /** Sessions whose containers are being started: theirs, though not yet in `sessions`. */
  private readonly starting = new Set<string>();
  /** Sessions whose containers are being replaced by fresh ones. */
  private readonly resetting = new Set<string>();
  /** Sessions ended whose containers are being removed: still theirs, so the orphan sweep leaves them be. */
  private readonly removing = new Set<string>();
  private readonly now: () => number;
  private readonly checkListeners = new Set<CheckListener>();
  private readonly endListeners = new Set<EndListener>();
  private readonly hintListeners = new Set<HintListener>();
  private readonly hooks: SessionHooks;
  /** Sessions the idle sweep leaves alone (warm sessions nobody has joined yet). */
  private idleExempt: (id: string) => boolean = () => false;
  /** The workshop a session belongs to, for its page. */
  private workshopOf: (id: string) => SessionLimits['workshop'] = () => undefined;

  constructor(private readonly options: SessionManagerOptions) {
    this.now = options.now ?? Date.now;
    this.hooks = {
      onCheck: (session, stepId, result, at) => {
        for (const l of this.checkListeners) l(session, stepId, result, at);
      },
      onHint: (session, stepId, revealed) => {
        const at = this.now();
        for (const l of this.hintListeners) l(session, stepId, revealed, at);
      },
      limits: (session) => {
        const workshop = this.workshopOf(session.id);
        return { idleMinutes: Math.round(this.options.idleMs / 60_000), ...(workshop ? { workshop } : {}) };
      },
      ...(options.panel && {
        panel: {
          intervalMs: options.panel.intervalMs,
          // A reading is a few cat and ipvsadm calls: when it takes longer, the next one tries again.
          timeoutMs: Math.min(options.checkTimeoutMs, 10_000),
          retryMs: 3000,
          slots: new ReadSlots(options.panel.concurrentReads),
          log: options.log,
        },
      }),
    };
  }

  /** Every check of every session, once stored. */
  onCheck(listener: CheckListener): { dispose(): void } {
    this.checkListeners.add(listener);
    return { dispose: () => this.checkListeners.delete(listener) };
  }

  /** Every hint a learner reveals, once stored. */
  onHint(listener: HintListener): { dispose(): void } {
    this.hintListeners.add(listener);
    return { dispose: () => this.hintListeners.delete(listener) };
  }

  /** Every session that ends, whatever the reason. */
  onEnded(listener: EndListener): { dispose(): void } {
    this.endListeners.add(listener);
    return { dispose: () => this.endListeners.delete(listener) };
  }

  /** Lets the workshops keep their warm sessions from the idle sweep and name themselves to their learners. */
  attachWorkshops(hooks: { idleExempt: (id: string) => boolean; workshopOf: (id: string) => SessionLimits['workshop'] }): void {
    this.idleExempt = hooks.idleExempt;
    this.workshopOf = hooks.workshopOf;
  }

  /** Sessions live or starting now, for the server's session cap. */
  get load(): number {
    return this.sessions.size + this.starting.size;
  }

  get maxSessions(): number {
    return this.options.maxSessions;
  }

  /** The live session with this id, or undefined (no error: for callers that look before they act). */
  find(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  ids(): ReadonlySet<string> {
    return new Set(this.sessions.keys());
  }

  /** Whether engine objects of this session id belong to a session live or starting now. */
  owns(id: string): boolean {
    return this.sessions.has(id) || this.starting.has(id) || this.removing.has(id) || this.resetting.has(id);
  }

  /**
   * Takes back every session the store says is live: same id, token, progress and containers,
   * with a fresh shell started when a page connects. A session whose containers are gone is
   * ended as lost, with the reason kept for its learner.
   */
  async restore(progress: (line: string) => void = () => undefined): Promise<{ adopted: number; lost: number }> {
    const records = this.options.store.live();
    let adopted = 0;
    let lost = 0;
    const queue = [...records];
    const worker = async () => {
      for (let record = queue.shift(); record; record = queue.shift()) {
        const reason = await this.adopt(record).catch((e: Error) => `adopting it failed: ${e.message}`);
        if (reason === undefined) {
          adopted++;
          continue;
        }
        lost++;
        this.options.store.end(record.id, 'lost', this.now(), reason);
        this.options.log.warn('session lost at restart', { sessionId: record.id, lab: record.lab, reason });
      }
    };
    if (records.length > 0) progress(`restoring ${records.length} session(s) from the database`);
    await Promise.all(Array.from({ length: Math.min(ADOPT_CONCURRENCY, records.length) }, worker));
    return { adopted, lost };
  }

  /** Undefined when adopted; otherwise why not. */
  private async adopt(record: SessionRecord): Promise<string | undefined> {
    const lab = this.options.labs.get(record.lab);
    if (!lab) return `its lab ${record.lab} is not served any more`;
    const adoption = await this.options.runtime.adopt(record.id, record.environment);
    if ('lost' in adoption) return adoption.lost;
    const session = this.assemble(record, lab, adoption.environment, { spawnNow: false });
    this.sessions.set(record.id, session);
    this.options.log.info('session restored', { sessionId: record.id, lab: lab.id });
    return undefined;
  }

  private assemble(record: SessionRecord, lab: Lab, environment: RunningEnvironment, options: { spawnNow: boolean }): Session {
    const variables = sessionVariables(lab, environment);
    // The main shell starts with the session (its prompt says the session is ready); the others
    // when a page first opens them.
    const terminals = shellHosts(lab).map((host, i) => ({
      host: host.name,
      terminal: new TerminalSession(environment.shellCommand(host.name), {
        replayCapacity: this.options.replayCapacity,
        spawnNow: options.spawnNow && i === 0,
      }),
    }));
    return new Session(
      record,
      lab,
      environment,
      terminals,
      variables,
      this.options.store.passedSteps(record.id),
      this.options.store,
      this.options.checkTimeoutMs,
      this.hooks,
      this.now,
    );
  }

  /**
   * Starts the lab's containers and shell; resolves once the shell has printed its prompt, with
   * the session and its token (the only time the token is known: the store keeps its hash).
   * Aborting `signal` (the client went away) removes whatever was started.
   */
  async create(labId: string, signal?: AbortSignal): Promise<{ session: Session; token: string }> {
    const lab = this.options.labs.get(labId);
    if (!lab) throw new HttpError(404, `no lab ${JSON.stringify(labId)}; labs: ${[...this.options.labs.keys()].join(', ')}`);
    if (this.sessions.size + this.starting.size >= this.options.maxSessions)
      throw new HttpError(503, `this server already runs ${this.options.maxSessions} sessions (IPVS_LAB_MAX_SESSIONS); try again when one ends`);
    const id = randomBytes(5).toString('hex');
    this.starting.add(id);
    const token = SessionStore.newToken();
    const started = this.now();
    let environment: RunningEnvironment | undefined;
    let session: Session | undefined;
    try {
      environment = await this.options.runtime.start({ sessionId: id, outside: lab.outside, hosts: this.hostSpecs(lab) }, signal ? { signal } : {});
      const record: SessionRecord = {
        id,
        tokenHash: SessionStore.hashToken(token),
        lab: lab.id,
        createdAt: started,
        lastActivity: started,
        environment: environment.handle,
      };
      session = this.assemble(record, lab, environment, { spawnNow: true });
      await session.terminal.waitForOutput(SHELL_READY_TIMEOUT_MS);
      signal?.throwIfAborted();
      // Stored only once it works: a session that never started is not restored after a restart.
      this.options.store.insert(record);
      this.sessions.set(id, session);
      this.options.log.info('session started', {
        sessionId: id,
        lab: lab.id,
        ms: this.now() - started,
        hosts: Object.fromEntries([...environment.hosts].map(([n, h]) => [n, h.ip])),
      });
      return { session, token };
    } catch (e) {
      if (session) await session.dispose().catch(() => undefined);
      else await environment?.stop().catch(() => undefined);
      if (signal?.aborted) {
        this.options.log.info('session start abandoned: the client went away', { sessionId: id, lab: lab.id });
        throw new HttpError(499, 'the request was aborted; the session was removed');
      }
      this.options.log.error('session failed to start', { sessionId: id, lab: lab.id, error: (e as Error).message });
      if (e instanceof RuntimeCapacityError) throw new HttpError(503, e.message);
      throw e;
    } finally {
      this.starting.delete(id);
    }
  }

  /**
   * The session, if `token` is its token. 404 for an id never seen, 410 with the reason for a
   * session that ended, 403 for a wrong or missing token.
   */
  authenticate(id: string, token: string | undefined): Session {
    const session = this.lookup(id);
    if (!session.hasToken(token)) throw new HttpError(403, `wrong or missing token for session ${id}`);
    return session;
  }

  /** The live session with this id, for a caller that has checked a credential of its own (a ticket). */
  lookup(id: string): Session {
    const session = this.sessions.get(id);
    if (session) return session;
    const ended = this.options.store.ended(id);
    if (ended) throw new HttpError(410, endedMessage(id, ended.reason, ended.endedAt, ended.detail, this.options.idleMs));
    throw new HttpError(404, `no session ${id} on this server`);
  }

  /** Ends a session and removes its containers. */
  async delete(id: string, reason: EndReason = 'deleted', detail?: string): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    const at = this.now();
    this.options.store.end(id, reason, at, detail);
    // The learner's pages hear why before their sockets close (the close reason is too short for it).
    if (reason !== 'deleted')
      session.notify({
        type: 'notice',
        kind: reason === 'workshop-ended' ? 'workshop-ended' : 'removed',
        message: endedMessage(id, reason, at, detail, this.options.idleMs),
      });
    this.announceEnd(id, reason);
    this.removing.add(id);
    try {
      await session.dispose();
    } catch (e) {
      // The session has ended either way; what the engine failed to remove, the next orphan
      // sweep (removeOrphans) takes, since no session owns it any more.
      this.options.log.error("removing a session's containers failed; the orphan sweep will retry", { sessionId: id, reason, error: (e as Error).message });
      return;
    } finally {
      this.removing.delete(id);
    }
    this.options.log.info('session removed', { sessionId: id, reason });
  }

  private announceEnd(id: string, reason: EndReason): void {
    for (const l of this.endListeners) l(id, reason);
  }

  /** Removes engine objects of this server that no live, starting, resetting or ending session owns. */
  removeOrphans(): Promise<{ containers: number; networks: number }> {
    return this.options.runtime.removeAllExcept((id) => this.owns(id));
  }

  /**
   * Replaces a session's containers with fresh ones from its lab: same id, token and (unless
   * `keepProgress` is false) progress. Its pages are told, then reconnect to the new shell.
   */
  async reset(id: string, options: { keepProgress: boolean; message: string }): Promise<Session> {
    const old = this.lookup(id);
    if (this.resetting.has(id)) throw new HttpError(409, `session ${id} is being reset already`);
    this.resetting.add(id);
    const started = this.now();
    try {
      old.notify({ type: 'notice', kind: 'reset', message: options.message });
      await old.dispose({ closeReason: 'your environment is being reset' });
      const lab = old.lab;
      const environment = await this.options.runtime.start({ sessionId: id, outside: lab.outside, hosts: this.hostSpecs(lab) });
      if (!options.keepProgress) this.options.store.clearProgress(id);
      this.options.store.setEnvironment(id, environment.handle);
      const record: SessionRecord = { ...old.recordForReset(), environment: environment.handle, lastActivity: started };
      const session = this.assemble(record, lab, environment, { spawnNow: true });
      session.touch();
      // Stands until the learner does something: a page that reconnects after the reset learns why its shell is new.
      session.notify({ type: 'notice', kind: 'reset', at: this.now(), message: options.message });
      this.sessions.set(id, session);
      this.options.log.info('session reset', { sessionId: id, lab: lab.id, keepProgress: options.keepProgress, ms: this.now() - started });
      return session;
    } catch (e) {
      this.options.log.error('session reset failed', { sessionId: id, error: (e as Error).message });
      this.sessions.delete(id);
      this.options.store.end(id, 'lost', this.now(), `resetting its environment failed: ${(e as Error).message}`);
      this.announceEnd(id, 'lost');
      throw e;
    } finally {
      this.resetting.delete(id);
    }
  }

  /** Removes sessions idle for longer than the configured time, and warns those close to it; returns the removed ids. */
  async sweepIdle(): Promise<string[]> {
    const now = this.now();
    for (const s of this.sessions.values()) {
      if (this.idleExempt(s.id) || s.idleWarned) continue;
      const idle = s.idleFor(now);
      if (idle > this.options.idleMs - IDLE_WARNING_MS && idle <= this.options.idleMs) {
        const at = now - idle + this.options.idleMs;
        s.notify({
          type: 'notice',
          kind: 'idle-warning',
          at,
          message: `This lab will be removed soon: nothing has happened in it for ${Math.floor(idle / 60_000)} minutes, and the limit is ${Math.round(this.options.idleMs / 60_000)}. Type something or press "I'm here" to keep it.`,
        });
      }
    }
    const idle = [...this.sessions.values()].filter((s) => !this.idleExempt(s.id) && s.idleFor(now) > this.options.idleMs).map((s) => s.id);
    for (const id of idle) this.options.log.info('session idle, removing', { sessionId: id });
    await Promise.all(idle.map((id) => this.delete(id, 'idle')));
    return idle;
  }

  /**
   * Ends every shell but leaves the containers running and the sessions live in the store: what
   * a server stopping for a restart does, and `ipvs-lab test --keep`.
   */
  async detachAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.dispose({ keepContainers: true })));
    this.sessions.clear();
  }

  /** Ends every session and removes its containers. */
  async removeAll(reason: EndReason = 'removed'): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.delete(id, reason)));
  }

  private hostSpecs(lab: Lab) {
    const checked = checkedHosts(lab);
    return lab.hosts.map((h) => ({
      name: h.name,
      image: 'ref' in h.image ? h.image.ref : this.imageTag(h.image.build),
      capabilities: h.capabilities,
      limits: { ...this.options.limits, ...h.limits },
      files: h.files,
      sysctls: h.sysctls,
      checked: checked.has(h.name),
      ...(h.command ? { command: h.command } : {}),
    }));
  }

  private imageTag(build: string): string {
    const tag = this.options.imageTags.get(build);
    if (!tag) throw new Error(`image for build context ${build} was not built at start`);
    return tag;
  }
}

function endedMessage(id: string, reason: EndReason, at: number, detail: string | undefined, idleMs: number): string {
  const when = new Date(at).toISOString();
  switch (reason) {
    case 'deleted':
      return `session ${id} was ended at ${when}, and its containers removed; start a new one`;
    case 'idle':
      return `session ${id} was removed at ${when} after ${Math.round(idleMs / 60000)} minutes without activity; start a new one`;
    case 'lost':
      return `session ${id} could not be restored when the server restarted (${when}): ${detail ?? 'its containers were gone'}; start a new one`;
    case 'removed':
      return `session ${id} was removed by the server's operator at ${when}; start a new one`;
    case 'instructor':
      return `session ${id} was removed from its workshop by the instructor at ${when}${detail ? ` (${detail})` : ''}`;
    case 'workshop-ended':
      return `the workshop of session ${id} ended at ${when}, and its containers were removed; thank you for taking part`;
  }
}

/** `host.ip`, `nginx-1.ip`, ..., `spare.1`, `net.prefix`, and the lab's own variables filled from them. */
export function sessionVariables(lab: Lab, environment: Pick<RunningEnvironment, 'hosts' | 'network'>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, host] of environment.hosts) {
    for (const suffix of HOST_VARIABLE_SUFFIXES) values[`${name}.${suffix}`] = host[suffix];
  }
  Object.assign(values, networkVariableValues(environment.network));
  for (const [name, template] of Object.entries(lab.variables)) values[name] = fillTemplate(template, values);
  return values;
}
