import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * One server per database. Two servers with the same name would share the database and remove
 * each other's containers as "owned by no session"; `ipvs-lab down` must not pull containers from
 * under a running server. A pid file beside the database says who holds it.
 */
export class ServerLockError extends Error {
  override readonly name = 'ServerLockError';
}

function lockFile(database: string): string {
  return `${database}.pid`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A pid reused by some other program after a crash is not a server: on Linux, look at what it runs.
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    return true;
  }
}

/** The pid of a live server holding `database`, if any (never this process). */
export function serverHolding(database: string): number | undefined {
  if (database === ':memory:') return undefined;
  let pid: number;
  try {
    pid = Number(readFileSync(lockFile(database), 'utf8').trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) ? pid : undefined;
}

export function takeServerLock(database: string): void {
  if (database === ':memory:') return;
  const holder = serverHolding(database);
  if (holder !== undefined)
    throw new ServerLockError(
      `another ipvs-lab server (pid ${holder}) already uses ${database}: stop it first, or give this one its own IPVS_LAB_SERVER_NAME (each name has its own database and containers)`,
    );
  mkdirSync(path.dirname(database), { recursive: true, mode: 0o700 });
  writeFileSync(lockFile(database), `${process.pid}\n`);
}

export function releaseServerLock(database: string): void {
  if (database === ':memory:') return;
  try {
    if (Number(readFileSync(lockFile(database), 'utf8').trim()) === process.pid) rmSync(lockFile(database));
  } catch {
    // Already gone.
  }
}
