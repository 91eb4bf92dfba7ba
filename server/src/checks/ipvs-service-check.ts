import type { CheckResult } from '../../../common/api.js';
import { findService } from '../ipvs/find-service.js';
import { IpvsParseError } from '../ipvs/ipvs-parse-error.js';
import type { IpvsTable, VirtualService } from '../ipvs/ipvs-table.js';
import { describeService, formatEndpoint, formatService, parseServiceAddress, PROTOCOL_FLAG, type ServiceAddress } from '../ipvs/service-address.js';
import type { IpvsServiceCheck } from '../labs/lab.js';
import { fail, pass, type CheckContext } from './check-context.js';
import { readIpvsTable, readServiceOverNetlink } from './read-ipvs-table.js';

/**
 * Finds the wanted service in the table, or explains in one sentence why it is not there,
 * naming what the table holds instead. Shared by every check that needs the service.
 */
export function locateService(table: IpvsTable, wanted: ServiceAddress): { service: VirtualService } | { problem: string } {
  const service = findService(table, wanted.protocol, wanted.address, wanted.port);
  if (service) return { service };
  const want = formatService(wanted);
  const create = `ipvsadm -A ${PROTOCOL_FLAG[wanted.protocol]} ${formatEndpoint(wanted.address, wanted.port)}`;
  if (table.services.length === 0) return { problem: `There is no virtual service yet: create ${want} with ${create} -s <scheduler>.` };
  const others = table.services.map(describeService);
  const sameEndpoint = table.services.find((s) => s.address === wanted.address && s.port === wanted.port);
  if (sameEndpoint)
    return {
      problem: `There is no virtual service ${want}, but there is ${describeService(sameEndpoint)}: use ${PROTOCOL_FLAG[wanted.protocol]} for ${wanted.protocol}.`,
    };
  return { problem: `There is no virtual service ${want}; the table has ${others.join(', ')}.` };
}

export async function runIpvsServiceCheck(check: IpvsServiceCheck, ctx: CheckContext): Promise<CheckResult> {
  const wanted = parseServiceAddress(check.service);
  const table = await readIpvsTable(ctx, check.host);
  const found = locateService(table, wanted);
  const details = { host: check.host, services: table.services.map(describeService) };
  if ('problem' in found) return fail(found.problem, details);
  const { service } = found;
  const name = formatService(wanted);
  if (check.scheduler && service.scheduler !== check.scheduler) {
    return fail(
      `${name} uses scheduler ${service.scheduler}; this step asks for ${check.scheduler} (change it with ipvsadm -E ${PROTOCOL_FLAG[wanted.protocol]} ${formatEndpoint(wanted.address, wanted.port)} -s ${check.scheduler}).`,
      { ...details, scheduler: service.scheduler },
    );
  }
  const persistent = check.persistent === undefined ? 0 : await persistenceOf(ctx, check.host, service);
  if (check.persistent !== undefined && persistent !== check.persistent) {
    const edit = `ipvsadm -E ${PROTOCOL_FLAG[wanted.protocol]} ${formatEndpoint(wanted.address, wanted.port)} -s ${service.scheduler}`;
    return fail(
      check.persistent === 0
        ? `${name} is persistent (${persistent} s); this step wants it without persistence (${edit}, without -p).`
        : persistent === 0
          ? `${name} is not persistent; this step wants persistence of ${check.persistent} s (${edit} -p ${check.persistent}).`
          : `${name} is persistent for ${persistent} s; this step wants ${check.persistent} s (${edit} -p ${check.persistent}).`,
      { ...details, scheduler: service.scheduler, persistentSeconds: persistent },
    );
  }
  const persistence = check.persistent ? `, persistent for ${persistent} s` : '';
  return pass(`${name} exists${check.scheduler ? ` with scheduler ${service.scheduler}` : ''}${persistence}.`, {
    ...details,
    scheduler: service.scheduler,
    ...(service.persistentSeconds !== undefined && { persistentSeconds: service.persistentSeconds }),
  });
}

/**
 * The service's persistence in seconds, as ipvsadm reads it over netlink: /proc/net/ip_vs prints
 * it in jiffies, and only the kernel knows how many make a second (HZ 250 on Debian, 1000
 * elsewhere). Falls back on the /proc reading if ipvsadm cannot answer.
 */
async function persistenceOf(ctx: CheckContext, host: string, service: VirtualService): Promise<number> {
  const fromProc = service.persistentSeconds ?? 0;
  try {
    const same = await readServiceOverNetlink(ctx, host, service);
    return same ? (same.persistentSeconds ?? 0) : fromProc;
  } catch (e) {
    if (e instanceof IpvsParseError) return fromProc;
    throw e;
  }
}
