import { randomBytes } from 'node:crypto';
import type { Lab } from '../labs/lab.js';
import { shellHost } from '../labs/lab.js';
import { fillTemplate, HOST_VARIABLE_SUFFIXES } from '../labs/template.js';
import type { Engine } from '../runtime/engine.js';
import { startLabEnvironment, type RunningHost, type StartedLabEnvironment } from '../runtime/lab-environment.js';
import { TerminalSession } from '../terminal/terminal-session.js';
import { HttpError } from '../http/http-error.js';
import { Session } from './session.js';
import type { Logger } from '../logger.js';

const SHELL_READY_TIMEOUT_MS = 60_000;

export interface SessionManagerOptions {
  readonly engine: Engine;
  readonly labs: ReadonlyMap<string, Lab>;
  /** Build context name → image tag, for hosts with `image: { build }`. */
  readonly imageTags: ReadonlyMap<string, string>;
  readonly serverName: string;
  readonly maxSessions: number;
  readonly idleMs: number;
  readonly checkTimeoutMs: number;
  /** Terminal history kept per session (code units), for reconnects and reloads. */
  readonly replayCapacity: number;
  readonly dockerCli: string;
  /** Environment of the `docker exec` processes that carry the terminals (DOCKER_HOST and friends). */
  readonly childEnv: Readonly<Record<string, string>>;
  readonly log: Logger;
  readonly now?: () => number;
}

/** Every session of this server: created, looked up with their token, swept when idle, deleted. */
export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private starting = 0;
  private readonly now: () => number;

  constructor(private readonly options: SessionManagerOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Starts the lab's containers and shell; resolves once the shell has printed its prompt. */
  async create(labId: string): Promise<Session> {
    const lab = this.options.labs.get(labId);
    if (!lab) throw new HttpError(404, `no lab ${JSON.stringify(labId)}; labs: ${[...this.options.labs.keys()].join(', ')}`);
    if (this.sessions.size + this.starting >= this.options.maxSessions)
      throw new HttpError(503, `this server already runs ${this.options.maxSessions} sessions (IPVS_LAB_MAX_SESSIONS); try again when one ends`);
    this.starting++;
    const id = randomBytes(5).toString('hex');
    const token = randomBytes(24).toString('base64url');
    const started = this.now();
    let environment: StartedLabEnvironment | undefined;
    let terminal: TerminalSession | undefined;
    try {
      environment = await startLabEnvironment(this.options.engine, {
        serverName: this.options.serverName,
        sessionId: id,
        hosts: lab.hosts.map((h) => ({
          name: h.name,
          image: 'ref' in h.image ? h.image.ref : this.imageTag(h.image.build),
          capabilities: h.capabilities,
          files: h.files,
          ...(h.command ? { command: h.command } : {}),
        })),
      });
      const variables = sessionVariables(lab, environment.hosts);
      terminal = new TerminalSession(
        {
          file: this.options.dockerCli,
          args: [
            'exec',
            '-it',
            '-e',
            'TERM=xterm-256color',
            '-w',
            '/root',
            environment.host(shellHost(lab).name).containerId,
            'sh',
            '-c',
            'if command -v bash >/dev/null; then exec bash -l; else exec sh -l; fi',
          ],
          env: this.options.childEnv,
        },
        { replayCapacity: this.options.replayCapacity },
      );
      await terminal.waitForOutput(SHELL_READY_TIMEOUT_MS);
      const session = new Session(id, token, lab, environment, terminal, variables, this.options.checkTimeoutMs, this.now);
      this.sessions.set(id, session);
      this.options.log.info('session started', {
        sessionId: id,
        lab: lab.id,
        ms: this.now() - started,
        hosts: Object.fromEntries([...environment.hosts].map(([n, h]) => [n, h.ip])),
      });
      return session;
    } catch (e) {
      terminal?.dispose();
      await environment?.stop().catch(() => undefined);
      this.options.log.error('session failed to start', { sessionId: id, lab: lab.id, error: (e as Error).message });
      throw e;
    } finally {
      this.starting--;
    }
  }

  /** The session, if `token` is its token; 404 for an unknown id, 403 for a wrong or missing token. */
  authenticate(id: string, token: string | undefined): Session {
    const session = this.sessions.get(id);
    if (!session)
      throw new HttpError(404, `no session ${id}: it ended, or was removed after ${Math.round(this.options.idleMs / 60000)} minutes without activity`);
    if (!session.hasToken(token)) throw new HttpError(403, `wrong or missing token for session ${id}`);
    return session;
  }

  async delete(id: string): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    await session.dispose();
    this.options.log.info('session removed', { sessionId: id });
  }

  /** Removes sessions idle for longer than the configured time; returns their ids. */
  async sweepIdle(): Promise<string[]> {
    const now = this.now();
    const idle = [...this.sessions.values()].filter((s) => s.idleFor(now) > this.options.idleMs).map((s) => s.id);
    for (const id of idle) this.options.log.info('session idle, removing', { sessionId: id });
    await Promise.all(idle.map((id) => this.delete(id)));
    return idle;
  }

  /** Ends every shell but leaves the containers running, for a person to inspect. */
  detachAll(): void {
    for (const s of this.sessions.values()) s.terminal.dispose();
    this.sessions.clear();
  }

  async disposeAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.delete(id)));
  }

  private imageTag(build: string): string {
    const tag = this.options.imageTags.get(build);
    if (!tag) throw new Error(`image for build context ${build} was not built at start`);
    return tag;
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
