/**
 * The server under test as a child process, so its own memory (VmRSS, VmHWM) can be read from
 * /proc, and the in-process variant for benchmarks that only need an address. Both remove every
 * container carrying their server name when stopped, whether the server cleaned up or crashed.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/src/config.js';
import { removeServerContainers } from '../../test/utils/engine.js';
import { startLabServer, tempStateDir, uniqueServerName } from '../../test/utils/lab-server.js';
import { startServerProcess, type ServerProcess } from '../../test/utils/server-process.js';
import { owe } from './cleanup.js';

export interface ProcMemory {
  /** Resident set size now. */
  readonly rssBytes: number;
  /** Peak resident set size since the process started (VmHWM). */
  readonly hwmBytes: number;
}

export interface BenchServer {
  readonly baseUrl: string;
  readonly serverName: string;
  /** Set for a child process; undefined when the server runs inside the benchmark. */
  readonly pid: number | undefined;
  /** What ran: the built dist/, the TypeScript source through tsx, or this process. */
  readonly origin: 'dist' | 'source' | 'in-process';
  memory(): ProcMemory;
  /** Stops the server and removes whatever it left; resolves with the containers that had to be removed for it. */
  stop(): Promise<number>;
  /** Kills the server process at once (SIGKILL), leaving its sessions and state for the next start. */
  kill(): Promise<void>;
  /** What the server logged so far (empty in-process). */
  log(): string;
}

/** Reads VmRSS and VmHWM of a live process. */
export function readMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: kib('VmRSS'), hwmBytes: kib('VmHWM') };
}

/** Samples a process's RSS on a timer and keeps the peak; stop() ends the timer. */
export class MemorySampler {
  private readonly timer: NodeJS.Timeout;
  readonly baseline: ProcMemory;
  peakRssBytes: number;
  samples = 0;

  constructor(
    private readonly read: () => ProcMemory,
    intervalMs = 100,
  ) {
    this.baseline = read();
    this.peakRssBytes = this.baseline.rssBytes;
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): ProcMemory {
    const m = this.read();
    this.samples++;
    this.peakRssBytes = Math.max(this.peakRssBytes, m.rssBytes);
    return m;
  }

  /** Stops sampling; returns the final reading and the growth of the peak over the baseline. */
  stop(): { final: ProcMemory; peakRssBytes: number; rssGrowthBytes: number; hwmGrowthBytes: number } {
    clearInterval(this.timer);
    const final = this.sample();
    return {
      final,
      peakRssBytes: this.peakRssBytes,
      rssGrowthBytes: this.peakRssBytes - this.baseline.rssBytes,
      hwmGrowthBytes: final.hwmBytes - this.baseline.hwmBytes,
    };
  }
}

/**
 * The first server or common source file newer than its build in dist/, if any. A stale dist/
 * would measure yesterday's server (say, without flow control), so then the source runs instead.
 */
export function staleDistFile(): string | undefined {
  const roots = ['server/src', 'common'];
  const walk = (rel: string): string[] =>
    readdirSync(path.join(PROJECT_ROOT, rel)).flatMap((name) => {
      const child = `${rel}/${name}`;
      if (statSync(path.join(PROJECT_ROOT, child)).isDirectory()) return walk(child);
      return child.endsWith('.ts') && !child.endsWith('.d.ts') ? [child] : [];
    });
  for (const file of roots.flatMap(walk)) {
    const built = path.join(PROJECT_ROOT, 'dist', file.replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(path.join(PROJECT_ROOT, file)).mtimeMs) return file;
  }
  return undefined;
}

function waitForExit(child: ServerProcess['child'], timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts the server as a child process (dist/ when it is up to date, else the source) on a free
 * loopback port, without requiring IPVS, and waits until it can start sessions.
 */
export async function startChildServer(
  prefix: string,
  env: Record<string, string> = {},
  /** A name and state folder to reuse (a restart); the caller then removes the folder. */
  reuse: { serverName: string; stateDir: string } | undefined = undefined,
): Promise<BenchServer> {
  const serverName = reuse?.serverName ?? uniqueServerName(prefix);
  const stateDir = reuse?.stateDir ?? tempStateDir();
  const fullEnv = { HOST: '127.0.0.1', IPVS_LAB_SERVER_NAME: serverName, IPVS_LAB_REQUIRE_IPVS: 'false', IPVS_LAB_STATE_DIR: stateDir, ...env };
  const stale = staleDistFile();
  if (stale) console.log(`  (dist/ is older than ${stale}: the server runs from the TypeScript source through tsx)`);
  const proc = await startServerProcess(fullEnv, { entry: stale ? 'source' : 'dist', detached: true });
  const pid = proc.child.pid!;
  const stop = owe(async () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      // A Ctrl-C on the terminal may already have reached a server in our process group: a second signal would make it skip its cleanup.
      await new Promise((r) => setTimeout(r, 300));
      if (!/SIG[A-Z]+: stopping/.test(proc.log())) proc.child.kill('SIGTERM');
      if (!(await waitForExit(proc.child, 120_000))) proc.child.kill('SIGKILL');
    }
    // A stopped server keeps its sessions for its next start; a benchmark's next start never comes.
    if (!reuse) rmSync(stateDir, { recursive: true, force: true });
    return removeServerContainers(serverName);
  });
  try {
    await proc.waitForLog(/ready: sessions can start|cannot start sessions/, 600_000);
    if (/cannot start sessions/.test(proc.log())) throw new Error(`the server cannot start sessions:\n${proc.log()}`);
  } catch (e) {
    await stop();
    throw e;
  }
  const kill = async () => {
    proc.child.kill('SIGKILL');
    await waitForExit(proc.child, 30_000);
  };
  return { baseUrl: proc.baseUrl, serverName, pid, origin: stale ? 'source' : 'dist', memory: () => readMemory(pid), stop, kill, log: () => proc.log() };
}

/** The real server inside this process (test/utils/lab-server), for benchmarks that need no memory figures. */
export async function startInProcessServer(prefix: string): Promise<BenchServer> {
  const serverName = uniqueServerName(prefix);
  const lab = await startLabServer({ requireIpvs: false, serverName });
  const stop = owe(async () => {
    await lab.stop();
    return removeServerContainers(serverName);
  });
  const kill = () => Promise.reject(new Error('an in-process server cannot be killed'));
  return { baseUrl: lab.baseUrl, serverName, pid: undefined, origin: 'in-process', memory: () => readMemory(process.pid), stop, kill, log: () => '' };
}
