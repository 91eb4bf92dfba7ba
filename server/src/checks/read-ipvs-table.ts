import { findService } from '../ipvs/find-service.js';
import type { IpvsProtocol, IpvsTable, VirtualService } from '../ipvs/ipvs-table.js';
import { parseIpvsadmList } from '../ipvs/parse-ipvsadm-list.js';
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

/**
 * One service as the checker's own ipvsadm reads it over netlink, for what /proc/net/ip_vs does
 * not say (scheduler flags) or says in the kernel's own units (persistence in jiffies).
 * Undefined when ipvsadm cannot answer or the service is not there.
 *
 * @throws IpvsParseError when ipvsadm's output is not a listing.
 */
export async function readServiceOverNetlink(
  ctx: CheckContext,
  host: string,
  wanted: { readonly protocol: IpvsProtocol; readonly address: string; readonly port: number },
): Promise<VirtualService | undefined> {
  const listing = await ctx.exec(host, 'ipvsadm -L -n');
  if (listing.exitCode !== 0) return undefined;
  return findService(parseIpvsadmList(listing.stdout), wanted.protocol, wanted.address, wanted.port);
}
