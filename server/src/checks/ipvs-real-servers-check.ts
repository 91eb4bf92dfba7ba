import type { CheckResult } from '../../../common/api.js';
import type { ForwardingMethod } from '../ipvs/ipvs-table.js';
import { formatEndpoint, formatService, parseEndpoint, parseServiceAddress, PROTOCOL_FLAG } from '../ipvs/service-address.js';
import type { IpvsRealServersCheck } from '../labs/lab.js';
import { fail, nameEndpoint, pass, type CheckContext } from './check-context.js';
import { locateService } from './ipvs-service-check.js';
import { readIpvsTable } from './read-ipvs-table.js';

const FORWARD_FLAG: Readonly<Record<ForwardingMethod, string>> = { Masq: '-m', Route: '-g', Tunnel: '-i', Local: 'local' };

/**
 * The service must have exactly the wanted real servers, each with the wanted forwarding method
 * and the wanted weight, or, when the step names no weights, a weight above 0 (weight 0 is a
 * quiesced server: it gets no new connections).
 */
export async function runIpvsRealServersCheck(check: IpvsRealServersCheck, ctx: CheckContext): Promise<CheckResult> {
  const wanted = parseServiceAddress(check.service);
  const table = await readIpvsTable(ctx, check.host);
  const found = locateService(table, wanted);
  if ('problem' in found) return fail(found.problem);
  const { service } = found;
  const svc = `${PROTOCOL_FLAG[wanted.protocol]} ${formatEndpoint(wanted.address, wanted.port)}`;
  const name = (address: string, port: number) => nameEndpoint(formatEndpoint(address, port), address, ctx.hostIps);
  const details = {
    service: formatService(wanted),
    realServers: service.realServers.map((r) => ({ server: formatEndpoint(r.address, r.port), forward: r.forward, weight: r.weight })),
  };

  const wantedServers = check.servers.map(parseEndpoint);
  const isWanted = (address: string, port: number) => wantedServers.some((w) => w.address === address && w.port === port);
  const present = wantedServers.filter((w) => service.realServers.some((r) => r.address === w.address && r.port === w.port));
  const missing = wantedServers.filter((w) => !present.includes(w));
  const extra = service.realServers.filter((r) => !isWanted(r.address, r.port));

  for (const r of extra) {
    const samePortless = missing.find((m) => m.address === r.address);
    if (samePortless) {
      return fail(
        `Real server ${name(r.address, r.port)} has port ${r.port}; this step asks for port ${samePortless.port} (delete it with ipvsadm -d ${svc} -r ${formatEndpoint(r.address, r.port)}).`,
        details,
      );
    }
  }
  if (missing.length > 0) {
    const missingNames = missing.map((m) => name(m.address, m.port)).join(' and ');
    const add = `ipvsadm -a ${svc} -r ${formatEndpoint(missing[0]!.address, missing[0]!.port)} ${FORWARD_FLAG[check.forward]}`;
    const lead =
      present.length === 0
        ? `None of the ${wantedServers.length} backends is in ${formatService(wanted)} yet`
        : `Only ${present.length} of the ${wantedServers.length} backends ${present.length === 1 ? 'is' : 'are'} in ${formatService(wanted)}`;
    return fail(`${lead}: ${missingNames} ${missing.length === 1 ? 'is' : 'are'} missing (add with ${add}).`, details);
  }
  if (extra.length > 0) {
    const r = extra[0]!;
    return fail(
      `Real server ${name(r.address, r.port)} is not one of this step's backends (remove it with ipvsadm -d ${svc} -r ${formatEndpoint(r.address, r.port)}).`,
      details,
    );
  }
  for (const r of service.realServers) {
    if (r.forward !== check.forward) {
      return fail(
        `Real server ${name(r.address, r.port)} uses ${r.forward} (${FORWARD_FLAG[r.forward]}); this step asks for ${check.forward} (${FORWARD_FLAG[check.forward]}): fix it with ipvsadm -e ${svc} -r ${formatEndpoint(r.address, r.port)} ${FORWARD_FLAG[check.forward]}.`,
        details,
      );
    }
    const wantedWeight = check.weights?.[wantedServers.findIndex((w) => w.address === r.address && w.port === r.port)];
    if (wantedWeight !== undefined && r.weight !== wantedWeight) {
      const effect = wantedWeight === 0 ? ' (weight 0 takes it out of rotation but keeps its open connections)' : '';
      return fail(
        `Real server ${name(r.address, r.port)} has weight ${r.weight}; this step asks for ${wantedWeight}${effect}: set it with ipvsadm -e ${svc} -r ${formatEndpoint(r.address, r.port)} ${FORWARD_FLAG[check.forward]} -w ${wantedWeight}.`,
        details,
      );
    }
    if (wantedWeight === undefined && r.weight === 0) {
      return fail(
        `Real server ${name(r.address, r.port)} has weight 0, so it gets no new connections: set it with ipvsadm -e ${svc} -r ${formatEndpoint(r.address, r.port)} ${FORWARD_FLAG[check.forward]} -w 1.`,
        details,
      );
    }
  }
  const weights = check.weights ? ` and weights ${check.weights.join(', ')}` : '';
  return pass(
    `${formatService(wanted)} has ${wantedServers.length === 1 ? 'its backend' : `all ${wantedServers.length} backends`} with ${check.forward} forwarding${weights}.`,
    details,
  );
}
