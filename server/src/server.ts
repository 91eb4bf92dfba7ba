import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerStatus } from '../../common/api.js';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import { TerminalGateway } from './http/terminal-gateway.js';
import type { Lab } from './labs/lab.js';
import type { Logger } from './logger.js';
import { failedStatus, runPreflight, type PreflightResult } from './preflight.js';
import { SessionManager } from './sessions/session-manager.js';

export interface LabServerOptions {
  readonly config: Config;
  readonly labs: readonly Lab[];
  readonly webDist: string;
  readonly log: Logger;
  /** Environment of the `docker exec` processes (DOCKER_HOST and friends). */
  readonly childEnv: Readonly<Record<string, string>>;
}

/**
 * The whole server: HTTP and WebSocket on one port, preflight in the background (the page shows
 * its progress or its failure), sessions once preflight has passed, an idle sweep, and a stop()
 * that removes every session's containers.
 */
export class LabServer {
  private status: ServerStatus = { state: 'starting', message: 'starting', progress: [] };
  private sessions: SessionManager | undefined;
  private readonly http: Server;
  private readonly gateway: TerminalGateway;
  private sweepTimer: NodeJS.Timeout | undefined;
  readonly ready: Promise<PreflightResult | undefined>;

  constructor(private readonly options: LabServerOptions) {
    const { config, log } = options;
    const app = createApp({ labs: options.labs, status: () => this.status, sessions: () => this.sessions, webDist: options.webDist, log });
    this.http = createServer(app);
    this.gateway = new TerminalGateway((id, token) => {
      if (!this.sessions) throw new Error(this.status.message);
      return this.sessions.authenticate(id, token);
    }, log);
    this.http.on('upgrade', (req, socket, head) => {
      if (!this.gateway.handleUpgrade(req, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    });
    this.ready = runPreflight(config, options.labs, log, (s) => (this.status = s)).then(
      (result) => {
        this.sessions = new SessionManager({
          engine: result.engine,
          labs: new Map(options.labs.map((l) => [l.id, l])),
          imageTags: result.imageTags,
          serverName: config.serverName,
          maxSessions: config.maxSessions,
          idleMs: config.idleMinutes * 60_000,
          checkTimeoutMs: config.checkTimeoutMs,
          replayCapacity: config.replayKib * 1024,
          dockerCli: config.dockerCli,
          childEnv: options.childEnv,
          log,
        });
        this.status = { state: 'ready', message: 'ready', progress: [...this.status.progress], engine: { ...this.status.engine!, ipvs: result.ipvs } };
        log.info('ready: sessions can start');
        // Check often relative to the idle limit, but not more than once a minute.
        this.sweepTimer = setInterval(
          () => void this.sessions?.sweepIdle().catch((e: Error) => log.error('idle sweep failed', { error: e.message })),
          Math.min(60_000, config.idleMinutes * 15_000),
        );
        this.sweepTimer.unref();
        return result;
      },
      (error: unknown) => {
        this.status = failedStatus(error, config.dockerHost);
        log.error('cannot start sessions', { error: this.status.message });
        return undefined;
      },
    );
  }

  get sessionManager(): SessionManager | undefined {
    return this.sessions;
  }

  /** What the server is doing, or why it cannot start sessions. */
  get statusMessage(): string {
    return this.status.message;
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.config.port, this.options.config.host, () => resolve(this.http.address() as AddressInfo));
    });
  }

  /**
   * Stops accepting, closes terminals, and removes every session's containers, unless
   * `keepContainers` (for `ipvs-lab test --keep`), which leaves them for a person to inspect.
   */
  async stop(options: { keepContainers?: boolean } = {}): Promise<void> {
    clearInterval(this.sweepTimer);
    this.gateway.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    await this.ready.catch(() => undefined);
    if (options.keepContainers) this.sessions?.detachAll();
    else await this.sessions?.disposeAll();
  }
}
