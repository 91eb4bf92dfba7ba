import { randomBytes } from 'node:crypto';
import { HttpError } from '../http-error.js';
import type { Lab } from '../labs/lab.js';
import { checkedHosts, shellHost } from '../labs/lab.js';
import { fillTemplate, HOST_VARIABLE_SUFFIXES } from '../labs/template.js';
import type { Logger } from '../logger.js';
import { RuntimeCapacityError, type LabRuntime, type ResourceLimits, type RunningEnvironment, type RunningHost } from '../runtime/runtime.js';
import { SessionStore, type EndReason, type SessionRecord } from '../store/session-store.js';
import { TerminalSession } from '../terminal/terminal-session.js';
import { Session } from './session.js';

const SHELL_READY_TIMEOUT_MS = 60_000;
/** Sessions adopted at once after a restart: enough to be quick, few enough not to flood the engine. */
const ADOPT_CONCURRENCY = 8;

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
  private readonly now: () => number;

  constructor(private readonly options: SessionManagerOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.sessions.size;
  }

  ids(): ReadonlySet<string> {
    return new Set(this.sessions.keys());
  }

  /** Whether engine objects of this session id belong to a session live or starting now. */
  owns(id: string): boolean {
    return this.sessions.has(id) || this.starting.has(id);
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
    const variables = sessionVariables(lab, environment.hosts);
    const terminal = new TerminalSession(environment.shellCommand(shellHost(lab).name), {
      replayCapacity: this.options.replayCapacity,
      spawnNow: options.spawnNow,
    });
    return new Session(
      record,
      lab,
      environment,
      terminal,
      variables,
      this.options.store.passedSteps(record.id),
      this.options.store,
      this.options.checkTimeoutMs,
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
    const token = randomBytes(24).toString('base64url');
    const started = this.now();
    let environment: RunningEnvironment | undefined;
    let session: Session | undefined;
    const checked = checkedHosts(lab);
    try {
      environment = await this.options.runtime.start(
        {
          sessionId: id,
          outside: lab.outside,
          hosts: lab.hosts.map((h) => ({
            name: h.name,
            image: 'ref' in h.image ? h.image.ref : this.imageTag(h.image.build),
            capabilities: h.capabilities,
            limits: { ...this.options.limits, ...h.limits },
            files: h.files,
            sysctls: h.sysctls,
            checked: checked.has(h.name),
            ...(h.command ? { command: h.command } : {}),
          })),
        },
        signal ? { signal } : {},
      );
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
  async delete(id: string, reason: EndReason = 'deleted'): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    this.options.store.end(id, reason, this.now());
    try {
      await session.dispose();
    } catch (e) {
      // The session has ended either way; what the engine failed to remove, the next orphan
      // sweep (removeOrphans) takes, since no session owns it any more.
      this.options.log.error("removing a session's containers failed; the orphan sweep will retry", { sessionId: id, reason, error: (e as Error).message });
      return;
    }
    this.options.log.info('session removed', { sessionId: id, reason });
  }

  /** Removes engine objects of this server that no live or starting session owns. */
  removeOrphans(): Promise<{ containers: number; networks: number }> {
    return this.options.runtime.removeAllExcept((id) => this.owns(id));
  }

  /** Removes sessions idle for longer than the configured time; returns their ids. */
  async sweepIdle(): Promise<string[]> {
    const now = this.now();
    const idle = [...this.sessions.values()].filter((s) => s.idleFor(now) > this.options.idleMs).map((s) => s.id);
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
  }
}

/** `host.ip`, `nginx-1.ip`, ... and the lab's own variables filled from them. */
export function sessionVariables(lab: Lab, hosts: ReadonlyMap<string, RunningHost>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, host] of hosts) {
    for (const suffix of HOST_VARIABLE_SUFFIXES) values[`${name}.${suffix}`] = host[suffix];
  }
  for (const [name, template] of Object.entries(lab.variables)) values[name] = fillTemplate(template, values);
  return values;
}
