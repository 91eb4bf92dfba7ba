/**
 * `npm start`: serves the lab on http://localhost:3000 (PORT to change). See README.md.
 */
import path from 'node:path';
import { ConfigError, describeOptions, loadConfig, PROJECT_ROOT } from './config.js';
import { loadLabs } from './labs/lab-loader.js';
import { consoleLogger } from './logger.js';
import { LabServer } from './server.js';

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`ipvs-lab server: serves the labs in a browser.\n\nSettings (environment variables):\n${describeOptions()}\n`);
    return;
  }
  const log = consoleLogger();
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

  const childEnv = Object.fromEntries(Object.entries(process.env).filter((kv): kv is [string, string] => typeof kv[1] === 'string'));
  const server = new LabServer({ config, labs, webDist: path.join(PROJECT_ROOT, 'dist', 'web'), log, childEnv });
  const address = await server.listen();
  const shown = address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : address.address;
  log.info(`ipvs-lab serves ${labs.length} lab(s) on http://${shown}:${address.port}/ (preparing the Docker engine in the background)`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn(`${signal} again: exiting without cleanup; the next start removes what is left`);
      process.exit(130);
    }
    stopping = true;
    log.info(`${signal}: removing every session's containers`);
    server.stop().then(
      () => process.exit(0),
      (e: Error) => {
        log.error('cleanup failed', { error: e.message });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

await main();
