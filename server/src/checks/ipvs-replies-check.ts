import type { CheckResult } from '../../../common/api.js';
import { parseIpvsadmStats, type IpvsCounters } from '../ipvs/parse-ipvsadm-stats.js';
import { formatEndpoint, formatService, parseServiceAddress, PROTOCOL_FLAG } from '../ipvs/service-address.js';
import type { IpvsRepliesCheck } from '../labs/lab.js';
import { fail, pass, type CheckContext } from './check-context.js';

/**
 * The kernel folds its per-CPU counters into what ipvsadm reads every 2 seconds: a check right
 * after the learner's traffic may see none of it, so it looks again once after this long.
 */
export const STATS_SETTLE_SECONDS = 2.5;

/** The real servers' counters added up (the service's own line can lag behind theirs). */
function total(realServers: readonly { counters: IpvsCounters }[]): { inPackets: number; outPackets: number; conns: number } {
  return realServers.reduce(
    (t, r) => ({ inPackets: t.inPackets + r.counters.inPackets, outPackets: t.outPackets + r.counters.outPackets, conns: t.conns + r.counters.conns }),
    {
      inPackets: 0,
      outPackets: 0,
      conns: 0,
    },
  );
}

/**
 * Which way the replies go, from the director's own counters: under NAT every reply passes back
 * through the director (OutPkts grows with InPkts); under direct routing and tunnelling the real
 * servers answer the client themselves, so the director never sees a reply (OutPkts stays 0).
 */
export async function runIpvsRepliesCheck(check: IpvsRepliesCheck, ctx: CheckContext): Promise<CheckResult> {
  const wanted = parseServiceAddress(check.service);
  const option = `${PROTOCOL_FLAG[wanted.protocol]} ${formatEndpoint(wanted.address, wanted.port)}`;
  const read = `ipvsadm -L -n --stats --exact ${option}`;
  // One exec: read, and if nothing has been counted yet, let the kernel fold its counters and read again.
  // A real server line reads "-> address Conns InPkts OutPkts ...": field 4 is its InPkts.
  const script =
    `s=$(${read} 2>&1) || { printf '%s\n' "$s" >&2; exit 1; }; ` +
    `if printf '%s\n' "$s" | awk '$1 == "->" && $4 > 0 {found=1} END {exit !found}'; then printf '%s\n' "$s"; else sleep ${STATS_SETTLE_SECONDS}; ${read}; fi`;
  const result = await ctx.exec(check.host, script);
  const output = (result.stdout + result.stderr).trim();
  const name = formatService(wanted);
  const noService = `There is no virtual service ${name} yet: create it with ipvsadm -A ${option} -s rr.`;
  if (result.exitCode !== 0) {
    if (/No such service/i.test(output)) return fail(noService);
    return fail(`cannot read the counters of ${name} in ${check.host}: ${output.split('\n')[0] ?? `exit ${result.exitCode}`}`);
  }
  const [service] = parseIpvsadmStats(result.stdout);
  if (!service) return fail(noService);
  const sums = total(service.realServers);
  const details = { service: name, ...sums, realServers: service.realServers.map((r) => ({ server: formatEndpoint(r.address, r.port), ...r.counters })) };
  if (sums.inPackets === 0)
    return fail(
      `No packets have reached the real servers of ${name} yet (InPkts 0): send some requests to it from ${check.from ?? 'the client'} first.`,
      details,
    );
  const counts = `InPkts ${sums.inPackets}, OutPkts ${sums.outPackets}`;
  if (check.replies === 'direct') {
    if (sums.outPackets === 0) return pass(`${counts}: the real servers answer the client directly; no reply passes back through the director.`, details);
    return fail(
      `${counts}: replies come back through the director, as under NAT (-m). With direct routing (-g) or tunnelling (-i) the real servers answer the client themselves and OutPkts stays 0.`,
      details,
    );
  }
  if (sums.outPackets > 0) return pass(`${counts}: every reply comes back through the director, which rewrites it back to the virtual IP.`, details);
  return fail(
    `${counts}: no reply came back through the director. Under NAT (-m) the replies must return through it: give the real servers a route back via the director.`,
    details,
  );
}
