import { randomBytes } from 'node:crypto';
import type { CheckResult } from '../../../common/api.js';
import type { VirtualService } from '../ipvs/ipvs-table.js';
import { parseProcNetIpVsConn, type IpvsConnection } from '../ipvs/parse-proc-net-ip-vs-conn.js';
import { countAnswered, ERROR_PREFIX, judgeRoundRobin, UNKNOWN_PREFIX } from '../ipvs/round-robin.js';
import { judgeSchedule, type JudgedRequest, type JudgedServer } from '../ipvs/scheduler-judge.js';
import { formatEndpoint, formatService, parseServiceAddress, PROTOCOL_FLAG } from '../ipvs/service-address.js';
import type { TrafficCheck } from '../labs/lab.js';
import { fail, hostNameOf, pass, type CheckContext } from './check-context.js';
import { locateService } from './ipvs-service-check.js';
import { readIpvsTable, readServiceOverNetlink } from './read-ipvs-table.js';

/** Per-request limit: a virtual service that swallows packets (wrong forwarding method) fails fast. */
const REQUEST_TIMEOUT_SECONDS = 2;
/**
 * The script stops sending after this long, whatever is left, and says so: the check as a whole
 * must answer within the server's check timeout (30 s) even on a slow, loaded engine.
 */
export const TRAFFIC_DEADLINE_SECONDS = 25;
/** How the script says its deadline passed. */
export const DEADLINE_EXIT_CODE = 125;
/** Enough of the script's stderr to say why it stopped, short enough for one sentence. */
const MAX_SHOWN_STDERR_CHARS = 200;
/** Bodies are compared whole with the backends' answers, which are short. */
const MAX_BODY_CHARS = 200;
/** Schedulers whose choice depends on flags `/proc/net/ip_vs` does not print (sh-port, mh-port). */
const FLAGGED_SCHEDULERS = new Set(['sh', 'mh']);

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * One exec, and one curl process, that sends the requests one after another, each on a new
 * connection that the server closes after its reply (`Connection: close`, so the kernel counts
 * it as closed, InActConn, before the next one is scheduled), from each of `sources` in turn when
 * given. After each reply curl prints a record: `marker`, the local address and port the
 * connection came from, its exit code and error. One process matters: on an emulated CPU each
 * new process costs about a second. `--fail-early` stops at the first failure, so a broken
 * service costs one timeout, not twelve, and `timeout` ends it all after
 * {@link TRAFFIC_DEADLINE_SECONDS} (said as exit {@link DEADLINE_EXIT_CODE}).
 */
export function trafficScript(url: string, requests: number, sources: readonly string[], marker: string): string {
  const writeOut = `\\n${marker}\\t%{local_ip}\\t%{local_port}\\t%{exitcode}\\t%{errormsg}\\n`;
  const transfers: string[] = [];
  for (let i = 0; i < requests; i++) {
    const source = sources.length > 0 ? ` --interface ${shellQuote(sources[i % sources.length]!)}` : '';
    transfers.push(
      `--connect-timeout ${REQUEST_TIMEOUT_SECONDS} --max-time ${REQUEST_TIMEOUT_SECONDS} -H 'Connection: close'${source} -w '${writeOut}' ${shellQuote(url)}`,
    );
  }
  // timeout's own 124 would read as the server's exec timeout (which also runs under timeout): say it as 125.
  return `timeout ${TRAFFIC_DEADLINE_SECONDS} curl -sS --fail-early ${transfers.join(' --next ')} 2>/dev/null; rc=$?; [ "$rc" != 124 ] || rc=${DEADLINE_EXIT_CODE}; exit "$rc"`;
}

/** A marker no reply can forge: a learner does not know it before the check runs. */
export function newMarker(): string {
  return `@@${randomBytes(9).toString('base64url')}`;
}

/** One request as the script reported it. */
export interface SentRequest {
  readonly exitCode: number;
  /** Where the connection came from; empty when curl never got that far. */
  readonly localAddress: string;
  readonly localPort: number;
  /** The reply's body on one line, or curl's error. */
  readonly text: string;
}

/** Reads curl's records back: each record ends the body written before it. */
export function parseTrafficOutput(output: string, marker: string): SentRequest[] {
  const requests: SentRequest[] = [];
  const record = new RegExp(`\\n?${marker}\\t([^\\t\\n]*)\\t(\\d*)\\t(\\d+)\\t([^\\n]*)\\n?`, 'g');
  let bodyStart = 0;
  for (const m of output.matchAll(record)) {
    const body = output
      .slice(bodyStart, m.index)
      .replace(/[\r\n\t]+/g, ' ')
      .trim()
      .slice(0, MAX_BODY_CHARS);
    bodyStart = m.index + m[0].length;
    const exitCode = Number(m[3]);
    requests.push({ exitCode, localAddress: m[1] ?? '', localPort: Number(m[2]) || 0, text: exitCode === 0 ? body : (m[4] ?? '').trim() });
  }
  return requests;
}

/** The backend named by a reply's body, or an error/unknown marker the judges understand. */
function byBody(request: SentRequest, backends: Readonly<Record<string, string>>): string {
  if (request.exitCode !== 0) return `${ERROR_PREFIX}${request.text || `curl exit code ${request.exitCode}`}`;
  const backend = Object.entries(backends).find(([, expected]) => request.text === expected.trim());
  return backend ? backend[0] : `${UNKNOWN_PREFIX}${request.text}`;
}

/**
 * Who took each answered request, by the kernel's own connection table rather than by the reply:
 * a learner's container can fake a reply, not the director's record of where IPVS sent the
 * connection. A request the table does not know did not pass through IPVS at all.
 */
export function crossCheck(
  requests: readonly SentRequest[],
  byBodyNames: readonly string[],
  connections: readonly IpvsConnection[],
  hostIps: ReadonlyMap<string, string>,
): { names: string[] } | { problem: string } {
  const nameOf = (address: string) => hostNameOf(address, hostIps) ?? address;
  const names: string[] = [];
  for (const [i, request] of requests.entries()) {
    const claimed = byBodyNames[i] ?? '';
    if (request.exitCode !== 0 || claimed.startsWith(ERROR_PREFIX)) {
      names.push(claimed);
      continue;
    }
    const entries = connections.filter((c) => c.client.address === request.localAddress && c.client.port === request.localPort);
    if (entries.length === 0)
      return {
        problem:
          `request ${i + 1} (from ${formatEndpoint(request.localAddress, request.localPort)}) was answered, but the director's IPVS connection table has no entry for it: ` +
          `it did not pass through IPVS, so something else answered in the virtual service's place`,
      };
    // A client port can come back within the table's 2-minute memory; the reply decides between two entries.
    const match = entries.find((c) => nameOf(c.destination.address) === claimed) ?? entries[0]!;
    const sentTo = nameOf(match.destination.address);
    if (!claimed.startsWith(UNKNOWN_PREFIX) && sentTo !== claimed)
      return {
        problem: `request ${i + 1} was answered "${request.text}" (${claimed}), but IPVS sent it to ${formatEndpoint(match.destination.address, match.destination.port)} (${sentTo}): the reply does not come from where the kernel sent the connection`,
      };
    names.push(claimed.startsWith(UNKNOWN_PREFIX) ? claimed : sentTo);
  }
  return { names };
}

export async function runTrafficCheck(check: TrafficCheck, ctx: CheckContext): Promise<CheckResult> {
  // The table first: the counts the scheduler decides on are those before the traffic.
  let service: VirtualService | undefined;
  let flags: readonly string[] = [];
  if (check.service !== undefined) {
    const wanted = parseServiceAddress(check.service);
    const found = locateService(await readIpvsTable(ctx, check.host), wanted);
    if ('problem' in found) return fail(found.problem);
    service = found.service;
    if (service.scheduler !== check.scheduler)
      return fail(
        `${formatService(wanted)} uses scheduler ${service.scheduler}; this step measures ${check.scheduler} ` +
          `(change it with ipvsadm -E ${PROTOCOL_FLAG[wanted.protocol]} ${formatEndpoint(wanted.address, wanted.port)} -s ${check.scheduler}).`,
      );
    // sh-port, mh-fallback, ...: only netlink knows them.
    if (FLAGGED_SCHEDULERS.has(check.scheduler)) flags = (await readServiceOverNetlink(ctx, check.host, wanted))?.schedulerFlags ?? [];
  }

  const marker = newMarker();
  const result = await ctx.exec(check.from, trafficScript(check.url, check.requests, check.sources, marker));
  if (result.exitCode === 127 || /curl: not found/.test(result.stdout + result.stderr)) {
    return fail(`curl is not installed in ${check.from}, so the traffic cannot be measured.`);
  }
  const sent = parseTrafficOutput(result.stdout, marker);
  if (result.exitCode === DEADLINE_EXIT_CODE && sent.length < check.requests)
    return fail(
      `sending the ${check.requests} requests took over ${TRAFFIC_DEADLINE_SECONDS} s, so the check stopped after ${sent.length}: ` +
        `the engine is slow or busy right now; press Check again`,
      { url: check.url, requests: check.requests, sent: sent.length },
    );
  const claimed = sent.map((r) => byBody(r, check.backends));
  const tally = { url: check.url, requests: check.requests, sent: sent.length, answered: countAnswered(claimed) };
  // The script stops at the first failure, which is then its last line. Output that ends without
  // a failure means the script itself was cut short.
  const missing = check.requests - sent.length;
  if (missing > 0 && !claimed.at(-1)?.startsWith(ERROR_PREFIX)) {
    const stderr = result.stderr.trim().split('\n')[0]?.slice(0, MAX_SHOWN_STDERR_CHARS) ?? '';
    return fail(
      `the traffic script in ${check.from} stopped after ${sent.length} of ${check.requests} requests without reporting a failure ` +
        `(exit code ${result.exitCode}${stderr ? `: ${stderr}` : ''}), so ${missing} ${missing === 1 ? 'request has' : 'requests have'} no result`,
      { ...tally, sequence: claimed, exitCode: result.exitCode },
    );
  }

  const conn = await ctx.exec(check.host, 'cat /proc/net/ip_vs_conn');
  if (conn.exitCode !== 0) return fail(`cannot read the IPVS connection table of ${check.host}: ${conn.stderr.trim() || `exit ${conn.exitCode}`}`);
  const kernel = crossCheck(sent, claimed, parseProcNetIpVsConn(conn.stdout), ctx.hostIps);
  if ('problem' in kernel) return fail(kernel.problem, { ...tally, sequence: claimed });
  const sequence = kernel.names;

  if (!service) {
    const verdict = judgeRoundRobin(sequence, Object.keys(check.backends), check.requests);
    const details = { ...tally, sequence, counts: verdict.counts };
    return verdict.passed ? pass(verdict.message, details) : fail(verdict.message, details);
  }
  const servers: JudgedServer[] = service.realServers.map((r) => ({
    name: hostNameOf(r.address, ctx.hostIps) ?? formatEndpoint(r.address, r.port),
    weight: r.weight,
    activeConns: r.activeConns,
    inactiveConns: r.inactiveConns,
  }));
  const requests: JudgedRequest[] = sequence.map((backend, i) => ({ backend, source: sent[i]?.localAddress ?? '', destination: service.address }));
  const verdict = judgeSchedule({
    scheduler: check.scheduler,
    flags,
    servers,
    requests,
    requested: check.requests,
    persistent: service.persistentSeconds !== undefined && service.persistentSeconds > 0,
  });
  const details = { ...tally, sequence, counts: verdict.counts, servers, ...(verdict.expected && { expected: verdict.expected }) };
  return verdict.passed ? pass(verdict.message, details) : fail(verdict.message, details);
}
