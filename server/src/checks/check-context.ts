import type { CheckResult } from '../../../common/api.js';
import type { ExecResult, FileRead, PathInfo } from '../runtime/runtime.js';

/** What a check may do: read the session's hosts with trusted tools, and look up names. */
export interface CheckContext {
  /** Runs `sh -c script` as the trusted checker in the host's network namespace (never the learner's own binaries). */
  exec(host: string, script: string): Promise<ExecResult>;
  /** Stats a path in the host's filesystem through the container engine. */
  statPath(host: string, path: string): Promise<PathInfo | undefined>;
  /** Reads a file of the host's filesystem through the container engine, up to `maxBytes`. */
  readFile(host: string, path: string, maxBytes: number): Promise<FileRead>;
  /** Session variables (`host.ip`, `vip`, ...), already filled. */
  readonly variables: Readonly<Record<string, string>>;
  /** host name → IP address, to name backends in messages by the name the learner knows. */
  readonly hostIps: ReadonlyMap<string, string>;
}

export function pass(message: string, details?: Record<string, unknown>): CheckResult {
  return details ? { passed: true, message, details } : { passed: true, message };
}

export function fail(message: string, details?: Record<string, unknown>): CheckResult {
  return details ? { passed: false, message, details } : { passed: false, message };
}

/** The session's host that has this address, if one does. */
export function hostNameOf(address: string, hostIps: ReadonlyMap<string, string>): string | undefined {
  for (const [name, ip] of hostIps) if (ip === address) return name;
  return undefined;
}

/** `172.18.0.3:80 (nginx-2)` when the address belongs to a host of the session. */
export function nameEndpoint(endpoint: string, address: string, hostIps: ReadonlyMap<string, string>): string {
  const name = hostNameOf(address, hostIps);
  return name === undefined ? endpoint : `${endpoint} (${name})`;
}
