/**
 * `ipvs-lab`: the command line for lab authors and CI.
 *
 *   ipvs-lab validate <lab-dir>...     check labs without starting anything
 *   ipvs-lab test <lab-dir>... | --all  complete each lab from a clean start, strictly
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { SessionCreated } from '../../../common/api.js';
import { childEnvironment, ConfigError, databaseFile, describeOptions, loadConfig, PROJECT_ROOT, type Config } from '../config.js';
import type { Lab } from '../labs/lab.js';
import { formatProblem, LabError, type LabProblem } from '../labs/lab-error.js';
import { loadLab } from '../labs/lab-loader.js';
import { silentLogger, consoleLogger } from '../logger.js';
import { LabServer } from '../server.js';
import { labPassed, toJUnitXml, type LabTestResult, type StepTestResult } from './junit.js';
import { testLab } from './lab-test-runner.js';
import { Engine, EngineUnavailableError, LABEL_MANAGED, LABEL_SERVER } from '../runtime/docker/engine.js';
import { openDatabase, StoreError } from '../store/database.js';
import { serverHolding } from '../store/server-lock.js';
import { SessionStore } from '../store/session-store.js';

const HELP = `ipvs-lab: check and test hands-on IPVS labs

Usage:
  ipvs-lab validate <lab-dir>...
      Checks each lab without starting anything: the schema, that referenced files exist, that
      every host a check names is defined, that every step that changes state has a check and a
      solution, that variables are defined, that markdown and command blocks are well formed.
      Prints every problem as file:line: message. Exit 1 if there is any.

  ipvs-lab test [--junit FILE] [--keep] [--verbose] <lab-dir>... | --all
      Starts a fresh session per lab on the Docker engine (DOCKER_HOST) and, step by step, runs
      the check and requires it to FAIL, types the solution into the real terminal, and requires
      the check to PASS. Removes the containers afterwards, also on failure and Ctrl-C.
      --all       test every lab under labs/
      --junit F   write a JUnit XML report to F
      --keep      leave the sessions' containers running and print how to attach
      --verbose   log what the server does

  ipvs-lab down
      Ends every session of the server named by IPVS_LAB_SERVER_NAME (default "default") and
      removes their containers and networks. A stopped server keeps its sessions for its next
      start; this is how to let them go. Learners are told their session was removed by the
      operator. Refuses while that server runs (stop it first, or DELETE sessions through the API).

  ipvs-lab --help

Exit status: 0 when everything passed, 1 when a lab failed, 2 for bad usage or setup.

Settings (environment variables):
${describeOptions()}
`;

class UsageError extends Error {}

function labDirs(positionals: string[], all: boolean, labsDir: string): string[] {
  if (all) {
    if (positionals.length > 0) throw new UsageError('give lab folders or --all, not both');
    if (!existsSync(labsDir)) throw new UsageError(`no labs folder at ${labsDir}`);
    return readdirSync(labsDir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(labsDir, e.name))
      .sort();
  }
  if (positionals.length === 0) throw new UsageError('name at least one lab folder (or --all); see ipvs-lab --help');
  return positionals.map((p) => path.resolve(p));
}

function validate(dirs: string[], config: Config): number {
  const problems: LabProblem[] = [];
  for (const dir of dirs) {
    try {
      const lab = loadLab(dir, { containersDir: config.containersDir });
      problems.push(...lab.lint);
      if (lab.lint.length === 0) process.stdout.write(`ok  ${path.relative(process.cwd(), dir) || dir}: ${lab.steps.length} steps\n`);
    } catch (e) {
      if (!(e instanceof LabError)) throw e;
      problems.push(...e.problems);
    }
  }
  for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
  if (problems.length > 0) process.stdout.write(`${problems.length} problem${problems.length === 1 ? '' : 's'} found\n`);
  return problems.length > 0 ? 1 : 0;
}

const secs = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

function printStep(lab: Lab, s: StepTestResult): void {
  const mark = s.outcome === 'passed' ? 'PASS' : s.outcome === 'failed' ? 'FAIL' : 'SKIP';
  const t = s.timings;
  const timing = `check before ${secs(t.checkBefore)} · solution ${secs(t.solution)} · check after ${secs(t.checkAfter)}`;
  process.stdout.write(
    `  ${mark} ${lab.id}/${s.id.padEnd(14)} ${secs(s.ms).padStart(7)}  (${timing})${s.message && s.outcome !== 'skipped' ? `\n       ${s.message}` : ''}\n`,
  );
}

async function test(dirs: string[], config: Config, options: { junit?: string; keep: boolean; verbose: boolean }): Promise<number> {
  const labs: Lab[] = [];
  const problems: LabProblem[] = [];
  for (const dir of dirs) {
    try {
      labs.push(loadLab(dir, { containersDir: config.containersDir }));
    } catch (e) {
      if (!(e instanceof LabError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length > 0) {
    for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
    process.stdout.write('the labs above do not load; nothing was started\n');
    return 1;
  }
  const ids = new Set<string>();
  for (const l of labs) {
    if (ids.has(l.id)) throw new UsageError(`two labs are named ${l.id}; lab folder names must be unique`);
    ids.add(l.id);
  }

  const log = options.verbose ? consoleLogger() : silentLogger;
  // A test run keeps nothing: its sessions live in memory and end with it.
  const server = new LabServer({ config, labs, webDist: path.join(PROJECT_ROOT, 'dist', 'web'), log, childEnv: childEnvironment(), database: ':memory:' });
  const address = await server.listen();
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const sessions: { lab: Lab; session: SessionCreated }[] = [];

  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stdout.write("\ninterrupted: removing the test sessions' containers…\n");
    void server.stop('remove').finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  process.stdout.write(`preparing the Docker engine at ${config.dockerHost}…\n`);
  const ready = await server.ready;
  if (!ready) {
    process.stdout.write(`cannot test: ${server.statusMessage}\n`);
    await server.stop('remove');
    return 2;
  }

  const results: LabTestResult[] = [];
  const started = Date.now();
  try {
    for (const lab of labs) {
      process.stdout.write(`${lab.id}: starting a session (${lab.hosts.map((h) => h.name).join(', ')})…\n`);
      const result = await testLab(baseUrl, lab, {
        onStep: printStep,
        onSession: (l, session) => {
          sessions.push({ lab: l, session });
          process.stdout.write(`  session ${session.id} ready\n`);
        },
      });
      if (result.error) process.stdout.write(`  FAIL ${lab.id}: ${result.error}\n`);
      results.push(result);
      process.stdout.write(`${labPassed(result) ? 'PASS' : 'FAIL'} ${lab.id} in ${secs(result.ms)} (session start ${secs(result.sessionStartMs)})\n`);
    }
  } finally {
    if (options.junit) {
      writeFileSync(options.junit, toJUnitXml(results));
      process.stdout.write(`JUnit report: ${options.junit}\n`);
    }
    if (options.keep) {
      await server.stop('keep');
      const prefix = `DOCKER_HOST=${config.dockerHost} `;
      for (const { lab, session } of sessions) {
        const shellHost = lab.hosts.find((h) => h.shell)!.name;
        process.stdout.write(
          `kept session ${session.id} of ${lab.id}:\n  shell:  ${prefix}docker exec -it ipvs-lab-${config.serverName}-${session.id}-${shellHost} bash\n` +
            `  remove: ${prefix}docker rm -f $(${prefix}docker ps -aq --filter label=io.ipvs-lab.session=${session.id}); ${prefix}docker network rm ipvs-lab-${config.serverName}-${session.id}\n`,
        );
      }
    } else {
      await server.stop('remove');
    }
  }
  const failed = results.filter((r) => !labPassed(r));
  process.stdout.write(`${results.length - failed.length} passed, ${failed.length} failed (${secs(Date.now() - started)})\n`);
  return failed.length > 0 ? 1 : 0;
}

/** `ipvs-lab down`: ends every session of a stopped server and removes its containers. */
async function down(config: Config): Promise<number> {
  const database = databaseFile(config);
  const holder = serverHolding(database);
  if (holder !== undefined)
    throw new UsageError(
      `server "${config.serverName}" is running (pid ${holder}): stop it first (its sessions stay for its next start), or end sessions one by one with DELETE /api/sessions/:id`,
    );
  const engine = await Engine.connect(config.dockerHost);
  const removed = existsSync(database) ? endAllSessions(database) : 0;
  const reaped = await engine.removeLabelled({ [LABEL_MANAGED]: 'true', [LABEL_SERVER]: config.serverName });
  process.stdout.write(
    `server "${config.serverName}": ended ${removed} session(s); removed ${reaped.containers} containers and ${reaped.networks} networks from ${config.dockerHost}\n`,
  );
  return 0;
}

function endAllSessions(database: string): number {
  const db = openDatabase(database);
  try {
    const store = new SessionStore(db);
    const live = store.live();
    for (const s of live) store.end(s.id, 'removed', Date.now(), 'ipvs-lab down');
    return live.length;
  } finally {
    db.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      all: { type: 'boolean' },
      junit: { type: 'string' },
      keep: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP);
    return command || values.help ? 0 : 2;
  }
  if (command === 'down') {
    if (rest.length > 0) throw new UsageError('down takes no arguments; it acts on the server named by IPVS_LAB_SERVER_NAME');
    return down(loadConfig());
  }
  // Each test run gets its own server name: it never reaps, nor is reaped by, a running server.
  const config = loadConfig(undefined, { port: 0, host: '127.0.0.1', serverName: `cli-${randomBytes(3).toString('hex')}` });
  switch (command) {
    case 'validate':
      return validate(labDirs(rest, values.all ?? false, config.labsDir), config);
    case 'test':
      return test(labDirs(rest, values.all ?? false, config.labsDir), config, {
        ...(values.junit ? { junit: values.junit } : {}),
        keep: values.keep ?? false,
        verbose: values.verbose ?? false,
      });
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}; use validate, test or down (see ipvs-lab --help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (
      e instanceof UsageError ||
      e instanceof ConfigError ||
      e instanceof StoreError ||
      e instanceof EngineUnavailableError ||
      (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      process.stderr.write(`ipvs-lab: ${(e as Error).message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`ipvs-lab: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
