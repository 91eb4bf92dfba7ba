import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/src/config.js';

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly baseUrl: string;
  /** Everything the server logged so far. */
  log(): string;
  /** Resolves once the log matches `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

export interface ServerProcessOptions {
  /** `dist` runs the build, as `npm start` does; `source` runs the TypeScript through tsx. */
  readonly entry?: 'dist' | 'source';
  /** In its own process group, so a Ctrl-C on the terminal reaches only the parent. */
  readonly detached?: boolean;
}

/** Runs the server as its own process, on a free port. */
export async function startServerProcess(env: Record<string, string>, options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const args =
    options.entry === 'source' ? ['--import', 'tsx', path.join(PROJECT_ROOT, 'server/src/main.ts')] : [path.join(PROJECT_ROOT, 'dist/server/src/main.js')];
  // A server of its own database folder, unless the test shares one between runs (a restart).
  const stateDir = env.IPVS_LAB_STATE_DIR ? undefined : mkdtempSync(path.join(os.tmpdir(), 'ipvs-lab-state-'));
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PORT: '0', ...(stateDir ? { IPVS_LAB_STATE_DIR: stateDir } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  if (stateDir) child.once('exit', () => rmSync(stateDir, { recursive: true, force: true }));
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const waitForLog = async (pattern: RegExp, timeoutMs = 300_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(log)) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before logging ${pattern}:\n${log}`);
      if (Date.now() > deadline) throw new Error(`server did not log ${pattern} within ${timeoutMs} ms:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await waitForLog(/serves \d+ lab\(s\) on http:\/\/[^:]+:\d+\//, 60_000);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const port = /serves \d+ lab\(s\) on http:\/\/[^:]+:(\d+)\//.exec(log)![1];
  return { child, baseUrl: `http://127.0.0.1:${port}`, log: () => log, waitForLog };
}
