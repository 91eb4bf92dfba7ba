import { canonicalIpAddress } from './find-service.js';
import { IpvsParseError } from './ipvs-parse-error.js';
import { significantLines } from './listing-lines.js';
import { ipv4FromHex } from './parse-proc-net-ip-vs.js';

/** One entry of the kernel's IPVS connection table: which real server a client's connection went to. */
export interface IpvsConnection {
  readonly protocol: string;
  readonly client: { readonly address: string; readonly port: number };
  readonly virtual: { readonly address: string; readonly port: number };
  readonly destination: { readonly address: string; readonly port: number };
  /** TCP state as the kernel names it (ESTABLISHED, TIME_WAIT, SYN_RECV, ...). */
  readonly state: string;
  readonly expiresSeconds: number;
}

const HEADER = /^Pro\s+FromIP\s+FPrt\s+ToIP\s+TPrt\s+DestIP\s+DPrt\s+State\s+Expires/;
/** IPv4 is the host-order number in hex (`AC110002`); IPv6 is printed as text, unbracketed. */
const ADDRESS = String.raw`([0-9A-Fa-f]{8}|[0-9A-Fa-f:]*:[0-9A-Fa-f:]*)`;
const PORT = String.raw`([0-9A-Fa-f]{4})`;
const ENTRY = new RegExp(String.raw`^(\S+)\s+${ADDRESS}\s+${PORT}\s+${ADDRESS}\s+${PORT}\s+${ADDRESS}\s+${PORT}\s+(\S+)\s+(\d+)(?:\s|$)`);

/**
 * Parses `/proc/net/ip_vs_conn`: the kernel's own record of where IPVS sent each connection. A
 * check reads it to learn which real server took a request from the kernel itself, not from
 * the reply's body (which a learner's container could fake).
 *
 * @throws IpvsParseError on a line that is neither the header nor an entry.
 */
export function parseProcNetIpVsConn(text: string): IpvsConnection[] {
  const entries: IpvsConnection[] = [];
  for (const line of significantLines(text)) {
    if (HEADER.test(line.content)) continue;
    const m = ENTRY.exec(line.content);
    if (!m) throw new IpvsParseError(line.number, line.text, 'expected a connection like "TCP AC110002 CD12 AC110002 0050 0A14000C 0050 TIME_WAIT 118"');
    const endpoint = (address: string, port: string) => {
      const parsed = address.includes(':') ? canonicalIpAddress(address) : ipv4FromHex(address);
      if (parsed === undefined) throw new IpvsParseError(line.number, line.text, `"${address}" is not an address`);
      return { address: parsed, port: parseInt(port, 16) };
    };
    entries.push({
      protocol: m[1]!,
      client: endpoint(m[2]!, m[3]!),
      virtual: endpoint(m[4]!, m[5]!),
      destination: endpoint(m[6]!, m[7]!),
      state: m[8]!,
      expiresSeconds: Number(m[9]),
    });
  }
  return entries;
}
