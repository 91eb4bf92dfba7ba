import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import type { ExecResult } from '../../server/src/runtime/runtime.js';

/** One run of scripts against a stand-in bin, with its own log files. */
export interface StandInRun {
  /** `$STATE` of this run: a path prefix in the bin folder, under which the stand-ins log. */
  readonly state: string;
  /** Runs `script` with a real /bin/sh in the bin folder, the stand-ins first on PATH, then /usr/bin and /bin. */
  exec(script: string, env?: Record<string, string>): ExecResult;
  /** The non-empty lines the stand-ins wrote to `$STATE<suffix>` in this run; none when there is no such file. */
  log(suffix: string): string[];
}

/** A temporary folder of stand-in tools for a check's shell script. */
export interface StandInBin {
  readonly dir: string;
  newRun(): StandInRun;
}

/**
 * A temporary folder named from `prefix` with each of `tools` (name → sh script) as an executable,
 * removed after the suite it is made in.
 */
export function standInBin(prefix: string, tools: Readonly<Record<string, string>>): StandInBin {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, script] of Object.entries(tools)) {
    writeFileSync(path.join(dir, name), script);
    chmodSync(path.join(dir, name), 0o755);
  }
  let runs = 0;
  return {
    dir,
    newRun() {
      const state = path.join(dir, `state-${runs++}`);
      return {
        state,
        exec(script, env = {}) {
          const child = spawnSync('/bin/sh', ['-c', script], {
            env: { PATH: `${dir}:/usr/bin:/bin`, STATE: state, ...env },
            cwd: dir,
            encoding: 'utf8',
            timeout: 30_000,
          });
          return { exitCode: child.status ?? -1, stdout: child.stdout, stderr: child.stderr };
        },
        log(suffix) {
          try {
            return readFileSync(`${state}${suffix}`, 'utf8').split('\n').filter(Boolean);
          } catch {
            return [];
          }
        },
      };
    },
  };
}
