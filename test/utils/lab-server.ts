/**
 * Starts the real server in this process, on a free port, against the Docker engine named by
 * DOCKER_HOST, with a server name of its own so parallel runs never reap each other's containers.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { loadConfig, PROJECT_ROOT, type Config } from '../../server/src/config.js';
import { loadLabs } from '../../server/src/labs/lab-loader.js';
import { silentLogger, consoleLogger } from '../../server/src/logger.js';
import { LabServer } from '../../server/src/server.js';
import { reapStaleTestContainers } from './engine.js';

export interface RunningLabServer extends AsyncDisposable {
  readonly server: LabServer;
  readonly baseUrl: string;
  readonly config: Config;
  stop(): Promise<void>;
}

export function uniqueServerName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export async function startLabServer(overrides: Partial<Config> = {}): Promise<RunningLabServer> {
  const config = loadConfig(process.env, { port: 0, host: '127.0.0.1', serverName: uniqueServerName('test'), ...overrides });
  const { labs, errors } = loadLabs(config.labsDir, { containersDir: config.containersDir, relativeTo: PROJECT_ROOT });
  if (errors[0]) throw errors[0];
  const log = process.env.IPVS_LAB_TEST_LOG ? consoleLogger() : silentLogger;
  const childEnv = Object.fromEntries(Object.entries(process.env).filter((kv): kv is [string, string] => typeof kv[1] === 'string'));
  const server = new LabServer({ config, labs, webDist: path.join(PROJECT_ROOT, 'dist', 'web'), log, childEnv });
  await reapStaleTestContainers().catch(() => 0);
  const address = await server.listen();
  const result = await server.ready;
  if (!result) {
    await server.stop();
    throw new Error(`the server did not get ready`);
  }
  const stop = () => server.stop();
  return { server, baseUrl: `http://127.0.0.1:${address.port}`, config, stop, [Symbol.asyncDispose]: stop };
}
