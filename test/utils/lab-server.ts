/**
 * Starts the real server in this process, on a free port, against the Docker engine named by
 * DOCKER_HOST, with a server name and a database folder of its own, so parallel runs never reap
 * each other's containers or share a database.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childEnvironment, databaseFile, loadConfig, PROJECT_ROOT, type Config } from '../../server/src/config.js';
import { loadLabs } from '../../server/src/labs/lab-loader.js';
import { consoleLogger, silentLogger } from '../../server/src/logger.js';
import { LabServer } from '../../server/src/server.js';
import { reapStaleTestContainers } from './engine.js';

export interface RunningLabServer extends AsyncDisposable {
  readonly server: LabServer;
  readonly baseUrl: string;
  readonly config: Config;
  /** Stops the server, removes its sessions' containers and its database folder. */
  stop(): Promise<void>;
}

export function uniqueServerName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** A fresh folder for a server's database, under the system's temp folder. */
export function tempStateDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'ipvs-lab-state-'));
}

export interface LabServerTestOptions {
  readonly now?: () => number;
  /** Another folder of built pages (a missing one makes every page fail: the 500 path). */
  readonly webDist?: string;
}

export async function startLabServer(overrides: Partial<Config> = {}, options: LabServerTestOptions = {}): Promise<RunningLabServer> {
  const stateDir = overrides.stateDir ?? tempStateDir();
  const config = loadConfig(process.env, { port: 0, host: '127.0.0.1', serverName: uniqueServerName('test'), stateDir, ...overrides });
  const { labs, errors } = loadLabs(config.labsDir, { containersDir: config.containersDir, relativeTo: PROJECT_ROOT });
  if (errors[0]) throw errors[0];
  // Errors always reach the test's output (a 500's reference is useless without them); the rest on request.
  const toConsole = consoleLogger();
  const log = process.env.IPVS_LAB_TEST_LOG
    ? console
    : { ...silentLogger, error: (message: string, fields?: Record<string, unknown>) => toConsole.error(message, fields) };
  const server = new LabServer({
    config,
    labs,
    webDist: options.webDist ?? path.join(PROJECT_ROOT, 'dist', 'web'),
    log,
    childEnv: childEnvironment(),
    database: databaseFile(config),
    ...(options.now ? { now: options.now } : {}),
  });
  await reapStaleTestContainers().catch(() => 0);
  const address = await server.listen();
  const stop = async () => {
    await server.stop('remove');
    if (!overrides.stateDir) rmSync(stateDir, { recursive: true, force: true });
  };
  const result = await server.ready;
  if (!result) {
    await stop();
    throw new Error(`the server did not get ready: ${server.statusMessage}`);
  }
  return { server, baseUrl: `http://127.0.0.1:${address.port}`, config, stop, [Symbol.asyncDispose]: stop };
}
