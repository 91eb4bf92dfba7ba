import { createServer, type Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import type Database from 'better-sqlite3';
import type { ServerStatus } from '../../common/api.js';
import { sessionsOpen, type Config } from './config.js';
import { HttpError } from './http-error.js';
import { createApp } from './http/app.js';
import { hostPolicy } from './http/host-guard.js';
import { TerminalGateway } from './http/terminal-gateway.js';
import { TerminalTickets } from './http/terminal-tickets.js';
import type { Lab } from './labs/lab.js';
import type { Logger } from './logger.js';
import { CHECKER_BUILD, failedStatus, PreflightError, runPreflight, type PreflightResult, type StatusReporter } from './preflight.js';
import { DockerRuntime } from './runtime/docker/docker-runtime.js';
import { CidrError } from './runtime/docker/subnet-pool.js';
import { SessionManager } from './sessions/session-manager.js';
import { openDatabase } from './store/database.js';
import { SessionStore } from './store/session-store.js';
import { WorkshopStore } from './store/workshop-store.js';
import { InstructorSecret } from './workshops/instructor-secret.js';
import { WorkshopManager } from './workshops/workshop-manager.js';

export interface LabServerOptions {
  readonly config: Config;
  readonly labs: readonly Lab[];
  readonly webDist: string;
  readonly log: Logger;
  /** Environment of the `docker exec` processes (DOCKER_HOST and friends). */
  readonly childEnv: Readonly<Record<string, string>>;
  /** The session database: a file, or ':memory:' for a run that must keep nothing (ipvs-lab test). */
  readonly database: string;
  /** The sessions' clock (idle times, check times); tests move it instead of waiting. */
  readonly now?: () => number;
}

/** Ended sessions are remembered this long, so a learner who comes back is told why theirs is gone. */
const ENDED_RETENTION_MS = 30 * 24 * 3600_000;

/**
 * The whole server: HTTP and WebSocket on one port, start-up in the background (the page shows
 * its progress or its failure): the engine's preflight, then the sessions of the previous run
 * taken back from the database, then whatever no session owns removed. Sessions start once that
 * is done. stop() keeps sessions for the next start, or removes them.
 */
export class LabServer {
  private status: ServerStatus = { state: 'starting', message: 'starting', progress: [] };
  private sessions: SessionManager | undefined;
  private workshops: WorkshopManager | undefined;
  private readonly workshopStore: WorkshopStore;
  /** The instructor's secret when this start generated it: shown once, when the server listens. */
  private readonly generatedSecret: string | undefined;
  private readonly http: Server;
  private readonly gateway: TerminalGateway;
  private readonly db: Database.Database;
  private readonly store: SessionStore;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** A sweep that takes longer than the interval (a slow engine) is not run twice at once. */
  private sweeping = false;
  readonly ready: Promise<PreflightResult | undefined>;

  /** Opens the database at once: a database that cannot be opened is an error of the constructor. */
  constructor(private readonly options: LabServerOptions) {
    const { config, log } = options;
    this.db = openDatabase(options.database);
    this.store = new SessionStore(this.db);
    const tickets = new TerminalTickets();
    const hosts = hostPolicy(config.allowedHosts, config.publicUrl);
    this.workshopStore = new WorkshopStore(this.db);
    const { secret: instructor, generated } = InstructorSecret.resolve(config.instructorToken, this.workshopStore);
    this.generatedSecret = generated;
    const app = createApp({
      labs: options.labs,
      status: () => this.status,
      sessions: () => this.sessions,
      workshops: () => this.workshops,
      instructor,
      openSessions: sessionsOpen(config),
      publicUrl: config.publicUrl,
      tickets,
      hosts,
      webDist: options.webDist,
      log,
    });
    this.http = createServer(app);
    this.gateway = new TerminalGateway({
      lookup: (id) => {
        if (!this.sessions) throw new HttpError(503, this.status.message);
        return this.sessions.lookup(id);
      },
      tickets,
      hosts,
      maxPagesPerSession: config.maxPagesPerSession,
      pingIntervalMs: config.pingSeconds * 1000,
      replayCapacity: config.replayKib * 1024,
      log,
      mirrors: {
        lookup: (workshopId, sessionId) => {
          if (!this.workshops) throw new HttpError(503, this.status.message);
          return this.workshops.learnerSession(workshopId, sessionId);
        },
        isInstructor: (candidate) => instructor.matches(candidate),
      },
    });
    this.http.on('upgrade', (req, socket, head) => {
      try {
        if (!this.gateway.handleUpgrade(req, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      } catch (e) {
        log.error('upgrade failed', { url: req.url?.slice(0, 200), error: (e as Error).message });
        socket.destroy();
      }
    });
    this.ready = this.start();
  }

  private async start(): Promise<PreflightResult | undefined> {
    const { config, log } = this.options;
    const progress: string[] = [];
    let engine: ServerStatus['engine'] = { dockerHost: config.dockerHost };
    const report = ((message: string) => {
      progress.push(message);
      log.info(message);
      this.status = { state: 'starting', message, progress: [...progress], engine };
    }) as StatusReporter;
    report.engine = (info) => (engine = info);
    try {
      const result = await runPreflight(config, this.options.labs, report);
      let runtime: DockerRuntime;
      try {
        runtime = new DockerRuntime({
          engine: result.engine,
          serverName: config.serverName,
          checkerImage: result.imageTags.get(CHECKER_BUILD.name)!,
          subnetPool: config.subnetPool,
          subnetPrefix: config.subnetPrefix,
          dropCapabilities: config.dropCapabilities,
          dockerCli: config.dockerCli,
          childEnv: this.options.childEnv,
        });
      } catch (e) {
        if (e instanceof CidrError) throw new PreflightError(`IPVS_LAB_SUBNET_POOL: ${e.message}`);
        throw e;
      }
      const sessions = new SessionManager({
        runtime,
        store: this.store,
        labs: new Map(this.options.labs.map((l) => [l.id, l])),
        imageTags: result.imageTags,
        limits: { memoryMib: config.memoryMib, pids: config.pids, cpus: config.cpus, cpuShares: config.cpuShares },
        maxSessions: config.maxSessions,
        idleMs: config.idleMinutes * 60_000,
        checkTimeoutMs: config.checkTimeoutMs,
        replayCapacity: config.replayKib * 1024,
        panel: { intervalMs: config.panelIntervalMs, concurrentReads: config.panelReads },
        log,
        ...(this.options.now ? { now: this.options.now } : {}),
      });
      const started = Date.now();
      const restored = await sessions.restore(report);
      if (restored.adopted + restored.lost > 0)
        report(
          `restored ${restored.adopted} session(s) in ${((Date.now() - started) / 1000).toFixed(1)} s${restored.lost ? `; ${restored.lost} could not be restored (their containers are gone)` : ''}`,
        );
      const reaped = await sessions.removeOrphans();
      if (reaped.containers + reaped.networks > 0)
        report(`removed ${reaped.containers} containers and ${reaped.networks} networks of server "${config.serverName}" that no session owns`);
      this.workshopStore.pruneEnded(Date.now() - ENDED_RETENTION_MS);
      this.store.pruneEnded(Date.now() - ENDED_RETENTION_MS);
      const workshops = new WorkshopManager({
        store: this.workshopStore,
        sessionStore: this.store,
        sessions,
        labs: new Map(this.options.labs.map((l) => [l.id, l])),
        stuckAfterMs: config.stuckMinutes * 60_000,
        stuckFailures: config.stuckFailures,
        log,
        ...(this.options.now ? { now: this.options.now } : {}),
      });
      workshops.start();
      this.workshops = workshops;
      this.sessions = sessions;
      this.status = { state: 'ready', message: 'ready', progress: [...progress], engine: { ...engine, ipvs: result.ipvs } };
      log.info('ready: sessions can start');
      // Check often relative to the idle limit, but not more than once a minute.
      this.sweepTimer = setInterval(() => void this.sweep(), Math.min(60_000, config.idleMinutes * 15_000));
      this.sweepTimer.unref();
      return result;
    } catch (error) {
      this.status = failedStatus(error, config.dockerHost);
      log.error('cannot start sessions', { error: this.status.message });
      return undefined;
    }
  }

  /** Ends idle sessions, then removes what a failed removal or a crashed start left behind. */
  private async sweep(): Promise<void> {
    const sessions = this.sessions;
    if (!sessions || this.sweeping) return;
    this.sweeping = true;
    try {
      await sessions.sweepIdle().catch((e: Error) => this.options.log.error('idle sweep failed', { error: e.message }));
      const orphans = await sessions.removeOrphans().catch((e: Error) => {
        this.options.log.error('orphan sweep failed', { error: e.message });
        return { containers: 0, networks: 0 };
      });
      if (orphans.containers + orphans.networks > 0) this.options.log.warn('removed containers and networks no session owns', orphans);
    } finally {
      this.sweeping = false;
    }
  }

  get sessionManager(): SessionManager | undefined {
    return this.sessions;
  }

  get terminalGateway(): TerminalGateway {
    return this.gateway;
  }

  /** What the server is doing, or why it cannot start sessions. */
  get statusMessage(): string {
    return this.status.message;
  }

  get workshopManager(): WorkshopManager | undefined {
    return this.workshops;
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.config.port, this.options.config.host, () => {
        const address = this.http.address() as AddressInfo;
        // A server that keeps nothing (ipvs-lab test) has no workshops to run: no secret to announce.
        if (this.generatedSecret && this.options.database !== ':memory:') {
          const { config } = this.options;
          const origin = config.publicUrl || `http://${reachableHost(config.host)}:${address.port}`;
          // Only the hash is stored: this is the one time the secret can be shown.
          this.options.log.info(
            `instructor dashboard: ${origin}/instructor#secret=${this.generatedSecret} (the instructor's secret is shown this once; set IPVS_LAB_INSTRUCTOR_TOKEN to choose your own)`,
          );
        }
        resolve(address);
      });
    });
  }

  /**
   * Stops accepting and closes terminals. `keep` (a restart, `ipvs-lab test --keep`) leaves every
   * session's containers running and the sessions live in the database, for the next start to
   * take back; `remove` ends them and removes their containers.
   */
  async stop(sessions: 'keep' | 'remove'): Promise<void> {
    clearInterval(this.sweepTimer);
    this.workshops?.stop();
    this.gateway.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    await this.ready.catch(() => undefined);
    if (sessions === 'keep') await this.sessions?.detachAll();
    else await this.sessions?.removeAll();
    this.db.close();
  }
}

/** An address others can open for a server listening on `host`: for 0.0.0.0 or ::, this machine's first outside IPv4 address. */
function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') {
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    return outside?.address ?? 'localhost';
  }
  return host.includes(':') ? `[${host}]` : host;
}
