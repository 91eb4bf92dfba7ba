import { spawn, type ChildProcess } from 'node:child_process';
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

/** Runs the built server (`dist/`) as its own process, as `npm start` does, on a free port. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/server/src/main.js')], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  await waitForLog(/serves \d+ lab\(s\) on http:\/\/[^:]+:\d+\//);
  const port = /serves \d+ lab\(s\) on http:\/\/[^:]+:(\d+)\//.exec(log)![1];
  return { child, baseUrl: `http://127.0.0.1:${port}`, log: () => log, waitForLog };
}
