import type { CheckResult } from '../../../common/api.js';
import { countAnswered, ERROR_PREFIX, judgeRoundRobin, UNKNOWN_PREFIX } from '../ipvs/round-robin.js';
import type { RoundRobinTrafficCheck } from '../labs/lab.js';
import { fail, pass, type CheckContext } from './check-context.js';

/** Per-request limit: a virtual service that swallows packets (wrong forwarding method) fails fast. */
const REQUEST_TIMEOUT_SECONDS = 2;
/** Enough of the script's stderr to say why it stopped, short enough for one sentence. */
const MAX_SHOWN_STDERR_CHARS = 200;

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
      if (rc !== '0') return `${ERROR_PREFIX}${body || `curl exit code ${rc}`}`;
      const backend = Object.entries(backends).find(([, expected]) => body === expected.trim());
      return backend ? backend[0] : `${UNKNOWN_PREFIX}${body}`;
    });
}

export async function runRoundRobinTrafficCheck(check: RoundRobinTrafficCheck, ctx: CheckContext): Promise<CheckResult> {
  const result = await ctx.exec(check.from, trafficScript(check.url, check.requests));
  if (result.exitCode === 127 || /curl: not found/.test(result.stdout + result.stderr)) {
    return fail(`curl is not installed in ${check.from}, so the traffic cannot be measured.`);
  }
  const sequence = parseTrafficOutput(result.stdout, check.backends);
  const tally = { url: check.url, requests: check.requests, sent: sequence.length, answered: countAnswered(sequence), sequence };
  // The script stops at the first failure, which is then its last line, and the judge says the
  // rest were not sent. Output that ends without a failure means the script itself was cut short.
  const missing = check.requests - sequence.length;
  if (missing > 0 && !sequence.at(-1)?.startsWith(ERROR_PREFIX)) {
    const stderr = result.stderr.trim().split('\n')[0]?.slice(0, MAX_SHOWN_STDERR_CHARS) ?? '';
    return fail(
      `the traffic script in ${check.from} stopped after ${sequence.length} of ${check.requests} requests without reporting a failure ` +
        `(exit code ${result.exitCode}${stderr ? `: ${stderr}` : ''}), so ${missing} ${missing === 1 ? 'request has' : 'requests have'} no result`,
      { ...tally, exitCode: result.exitCode },
    );
  }
  const verdict = judgeRoundRobin(sequence, Object.keys(check.backends), check.requests);
  const details = { ...tally, counts: verdict.counts };
  return verdict.passed ? pass(verdict.message, details) : fail(verdict.message, details);
}
