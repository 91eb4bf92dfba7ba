import type { IpvsTable } from '../ipvs/ipvs-table.js';
import { parseProcNetIpVs } from '../ipvs/parse-proc-net-ip-vs.js';
import type { CheckContext } from './check-context.js';

export class IpvsUnavailableError extends Error {
  override readonly name = 'IpvsUnavailableError';
}

/**
 * Reads the IPVS table of a host's network namespace from /proc/net/ip_vs. It needs no ipvsadm,
 * so checks work before the learner installs it, and reading it changes nothing.
 */
export async function readIpvsTable(ctx: CheckContext, host: string): Promise<IpvsTable> {
  const result = await ctx.exec(host, 'cat /proc/net/ip_vs');
  if (result.exitCode !== 0) {
    throw new IpvsUnavailableError(
      `cannot read the IPVS table in ${host}: /proc/net/ip_vs is missing (${result.stderr.trim() || `exit ${result.exitCode}`}), so this Docker engine's kernel has no IPVS loaded`,
    );
  }
  return parseProcNetIpVs(result.stdout);
}
