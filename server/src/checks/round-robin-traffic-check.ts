import type { CheckResult } from '../../../common/api.js';
import { judgeRoundRobin } from '../ipvs/round-robin.js';
import type { RoundRobinTrafficCheck } from '../labs/lab.js';
import { fail, pass, type CheckContext } from './check-context.js';

/** Per-request limit: a virtual service that swallows packets (wrong forwarding method) fails fast. */
const REQUEST_TIMEOUT_SECONDS = 2;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * One exec that sends the requests one after another, each on a new connection, and prints a
 * line per request: curl's exit code, a tab, the body on one line. It stops at the first failure,
 * so a broken service costs one timeout, not twelve.
 */
export function trafficScript(url: string, requests: number): string {
  return [
    `for i in $(seq 1 ${requests}); do`,
    `  body=$(curl -sS --connect-timeout ${REQUEST_TIMEOUT_SECONDS} --max-time ${REQUEST_TIMEOUT_SECONDS} ${shellQuote(url)} 2>&1); rc=$?`,
    `  printf '%s\\t%s\\n' "$rc" "$(printf '%s' "$body" | tr '\\n\\t' '  ' | cut -c1-200)"`,
    `  [ "$rc" = 0 ] || break`,
    `done`,
  ].join('\n');
}

/** Turns the script's output into the sequence judgeRoundRobin reads: backend names or failure markers. */
export function parseTrafficOutput(output: string, backends: Readonly<Record<string, string>>): string[] {
  return output
    .split('\n')
    .filter((line) => line.includes('\t'))
    .map((line) => {
      const tab = line.indexOf('\t');
      const rc = line.slice(0, tab);
      const body = line.slice(tab + 1).trim();
      if (rc !== '0') return `error:${body || `curl exit code ${rc}`}`;
      const backend = Object.entries(backends).find(([, expected]) => body === expected.trim());
      return backend ? backend[0] : `unknown:${body}`;
    });
}

export async function runRoundRobinTrafficCheck(check: RoundRobinTrafficCheck, ctx: CheckContext): Promise<CheckResult> {
  const result = await ctx.exec(check.from, trafficScript(check.url, check.requests));
  if (result.exitCode === 127 || /curl: not found/.test(result.stdout + result.stderr)) {
    return fail(`curl is not installed in ${check.from}, so the traffic cannot be measured.`);
  }
  const sequence = parseTrafficOutput(result.stdout, check.backends);
  // The script stops at the first failure; a request that never ran counts as failed, so the
  // judge always sees as many requests as were asked for.
  const missing = Math.max(0, check.requests - sequence.length);
  const verdict = judgeRoundRobin([...sequence, ...Array<string>(missing).fill('error:no response')], Object.keys(check.backends));
  const details = { url: check.url, requests: check.requests, sequence: verdict.sequence, counts: verdict.counts };
  return verdict.passed ? pass(verdict.message, details) : fail(verdict.message, details);
}
