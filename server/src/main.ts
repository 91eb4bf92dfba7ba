/**
 * `npm start`: serves the labs on http://localhost:3000 (PORT to change). See README.md.
 */
import path from 'node:path';
import { childEnvironment, ConfigError, databaseFile, describeOptions, loadConfig, PROJECT_ROOT } from './config.js';
import { loadLabs } from './labs/lab-loader.js';
import { consoleLogger } from './logger.js';
import { LabServer } from './server.js';
import { releaseServerLock, ServerLockError, takeServerLock } from './store/server-lock.js';
import { StoreError } from './store/database.js';

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`ipvs-lab server: serves the labs in a browser.\n\nSettings (environment variables):\n${describeOptions()}\n`);
    return;
  }
  const log = consoleLogger();
  // Every listener is guarded; anything that still escapes is a bug in one request's path. Log
  // it with its stack and keep serving: exiting would cut every other learner's shell.
  process.on('uncaughtException', (e) => log.error('uncaught exception (the server keeps running)', { error: e.message, stack: e.stack }));
  process.on('unhandledRejection', (e) =>
    log.error('unhandled rejection (the server keeps running)', { error: (e as Error)?.message ?? String(e), stack: (e as Error)?.stack }),
  );

  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      log.error(e.message);
      process.exitCode = 2;
      return;
    }
    throw e;
  }

  const { labs, errors } = loadLabs(config.labsDir, { containersDir: config.containersDir, relativeTo: PROJECT_ROOT });
  for (const e of errors) log.error(`lab not loaded:\n${e.message}`);
  if (labs.length === 0) {
    log.error(`no usable lab in ${config.labsDir}`);
    process.exitCode = 1;
    return;
  }

  const database = databaseFile(config);
  let server: LabServer;
  try {
    takeServerLock(database);
    server = new LabServer({ config, labs, webDist: path.join(PROJECT_ROOT, 'dist', 'web'), log, childEnv: childEnvironment(), database });
  } catch (e) {
    if (e instanceof StoreError || e instanceof ServerLockError) {
      log.error(e.message);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  const address = await server.listen();
  const shown = address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : address.address;
  log.info(
    `ipvs-lab serves ${labs.length} lab(s) on http://${shown}:${address.port}/ (preparing the Docker engine in the background; sessions are kept in ${database})`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn(`${signal} again: exiting at once; the next start takes the sessions back`);
      process.exit(130);
    }
    stopping = true;
    const count = server.sessionManager?.size ?? 0;
    log.info(`${signal}: stopping; ${count} session(s) keep their containers and come back at the next start (ipvs-lab down removes them)`);
    server.stop('keep').then(
      () => {
        releaseServerLock(database);
        process.exit(0);
      },
      (e: Error) => {
        log.error('stopping failed', { error: e.message });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

await main();
