import { IpvsParseError } from './ipvs-parse-error.js';
import { significantLines, VERSION_LINE } from './listing-lines.js';
import { parseEndpoint } from './service-address.js';

/** The traffic counters `ipvsadm -Ln --stats` prints for a service or a real server. */
export interface IpvsCounters {
  readonly conns: number;
  readonly inPackets: number;
  readonly outPackets: number;
  readonly inBytes: number;
  readonly outBytes: number;
}

export interface ServiceStats {
  /** `TCP`, `UDP`, `SCTP` or `FWM`. */
  readonly protocol: string;
  /** Canonical address (empty for FWM). */
  readonly address: string;
  /** 0 for FWM. */
  readonly port: number;
  readonly counters: IpvsCounters;
  readonly realServers: readonly { readonly address: string; readonly port: number; readonly counters: IpvsCounters }[];
}

const HEADER = /^Prot LocalAddress:Port\s+Conns\s+InPkts\s+OutPkts\s+InBytes\s+OutBytes$/;
const REAL_SERVER_HEADER = /^-> RemoteAddress:Port$/;
/** `--exact` prints plain integers; without it ipvsadm abbreviates large ones (`12K`), which this refuses. */
const COUNTERS = String.raw`(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)`;
const SERVICE_LINE = new RegExp(String.raw`^(TCP|UDP|SCTP)\s+(\S+)\s+${COUNTERS}$`);
const FWM_LINE = new RegExp(String.raw`^FWM\s+(\d+)\s+${COUNTERS}$`);
const REAL_SERVER_LINE = new RegExp(String.raw`^->\s+(\S+)\s+${COUNTERS}$`);

/**
 * Parses `ipvsadm -L -n --stats --exact` (with or without `-t <service>`).
 *
 * @throws IpvsParseError on a line that is not part of such a listing, including counters that
 *   ipvsadm abbreviated (`12K`: run it with `--exact`).
 */
export function parseIpvsadmStats(text: string): ServiceStats[] {
  const lines = significantLines(text);
  const rest = lines[0] && VERSION_LINE.test(lines[0].content) ? lines.slice(1) : lines;
  const [header, realHeader, ...body] = rest;
  if (!header || !HEADER.test(header.content))
    throw new IpvsParseError(header?.number ?? 1, header?.text ?? '', 'expected the header of `ipvsadm -Ln --stats`');
  if (!realHeader || !REAL_SERVER_HEADER.test(realHeader.content.split(/\s+/).join(' ')))
    throw new IpvsParseError(realHeader?.number ?? 2, realHeader?.text ?? '', 'expected "  -> RemoteAddress:Port"');
  const services: { protocol: string; address: string; port: number; counters: IpvsCounters; realServers: ServiceStats['realServers'][number][] }[] = [];
  for (const line of body) {
    const real = REAL_SERVER_LINE.exec(line.content);
    if (real) {
      const service = services.at(-1);
      if (!service) throw new IpvsParseError(line.number, line.text, 'a real server line before any service line');
      service.realServers.push({ ...endpoint(line, real[1]!), counters: counters(real, 2) });
      continue;
    }
    const svc = SERVICE_LINE.exec(line.content);
    if (svc) {
      services.push({ protocol: svc[1]!, ...endpoint(line, svc[2]!), counters: counters(svc, 3), realServers: [] });
      continue;
    }
    const fwm = FWM_LINE.exec(line.content);
    if (fwm) {
      services.push({ protocol: 'FWM', address: '', port: 0, counters: counters(fwm, 2), realServers: [] });
      continue;
    }
    throw new IpvsParseError(line.number, line.text, 'expected a service or real server line with five counters (run ipvsadm with --exact)');
  }
  return services;
}

function counters(m: RegExpExecArray, from: number): IpvsCounters {
  const n = (i: number) => Number(m[from + i]);
  return { conns: n(0), inPackets: n(1), outPackets: n(2), inBytes: n(3), outBytes: n(4) };
}

/** `10.0.0.1:80` or `[::1]:80`, as ipvsadm prints them. */
function endpoint(line: { number: number; text: string }, text: string): { address: string; port: number } {
  try {
    return parseEndpoint(text);
  } catch {
    throw new IpvsParseError(line.number, line.text, `"${text}" is not an address:port`);
  }
}
