import { canonicalIpAddress } from './find-service.js';
import { IpvsParseError } from './ipvs-parse-error.js';
import { collectServices, REAL_SERVER_HEADER, SERVICE_HEADER, significantLines, VERSION_LINE, type Line } from './listing-lines.js';
import type { ForwardingMethod, IpvsTable, RealServer, VirtualService } from './ipvs-table.js';

export interface ParseProcNetIpVsOptions {
  /**
   * The kernel's tick rate (`CONFIG_HZ`). `/proc/net/ip_vs` prints persistence timeouts in jiffies
   * (`persistent 75000` is `-p 300` at HZ 250), and the file itself does not say what HZ is; only
   * netlink, and so `ipvsadm -Ln`, divides by it. Defaults to 250, the HZ of Debian's kernels (the
   * one the fixtures were captured on); Ubuntu 24.04 and Fedora use 1000.
   */
  readonly hz?: number;
}

/** Debian's `CONFIG_HZ`: see {@link ParseProcNetIpVsOptions.hz}. */
const DEFAULT_HZ = 250;

/** `%08X:%04X` for IPv4, `[%pI6]:%04X` (eight full groups) for IPv6. */
const ADDRESS_PORT = String.raw`(?:([0-9A-Fa-f]{8})|\[([0-9A-Fa-f:]+)\]):([0-9A-Fa-f]{4})`;
const SERVICE_LINE = new RegExp(String.raw`^(TCP|UDP|SCTP)\s+${ADDRESS_PORT}\s+(\S+)(.*)$`);
const FWM_LINE = /^FWM\s+([0-9A-Fa-f]{8})\s+(\S+)(.*)$/;
const REAL_SERVER_LINE = new RegExp(String.raw`^->\s+${ADDRESS_PORT}\s+(Masq|Route|Tunnel|Local)\s+(\d+)\s+(\d+)\s+(\d+)$`);

/**
 * Parses the kernel's own listing of the IPVS table, `/proc/net/ip_vs` (hex addresses and ports,
 * `AC110002:0050`).
 *
 * Services and real servers keep the order the kernel printed: services in hash-table order,
 * real servers newest first, which is the order `rr` walks.
 *
 * What this file cannot tell, and so the result lacks: scheduler flags such as `sh-port` (the
 * kernel never prints them here; use `ipvsadm -Ln`), and the persistence netmask. One-packet
 * scheduling (`ops`) is reported as the scheduler flag `ops`, as `ipvsadm -Ln` would show it.
 *
 * @throws IpvsParseError on the first line that is not part of such a listing, including input
 *   that is not a listing at all (`cat: /proc/net/ip_vs: No such file or directory`).
 * @throws RangeError when `options.hz` is not a positive integer.
 */
export function parseProcNetIpVs(text: string, options: ParseProcNetIpVsOptions = {}): IpvsTable {
  const hz = options.hz ?? DEFAULT_HZ;
  if (!Number.isInteger(hz) || hz <= 0) {
    throw new RangeError(`parseProcNetIpVs: hz must be a positive integer, got ${hz}`);
  }
  const lines = significantLines(text);
  const body = skipHeaders(lines);

  return collectServices(body, (line) => parseService(line, hz), parseRealServer);
}

function skipHeaders(lines: readonly Line[]): readonly Line[] {
  const [version, serviceHeader, realServerHeader] = lines;
  if (version === undefined) {
    throw new IpvsParseError(1, '', 'the input is empty, expected the contents of /proc/net/ip_vs');
  }
  if (!VERSION_LINE.test(version.content)) {
    throw new IpvsParseError(version.number, version.text, 'this is not /proc/net/ip_vs output, which starts with "IP Virtual Server version …"');
  }
  expectHeader(serviceHeader, SERVICE_HEADER, version.number + 1);
  expectHeader(realServerHeader, REAL_SERVER_HEADER, version.number + 2);
  return lines.slice(3);
}

function expectHeader(line: Line | undefined, expected: string, fallbackNumber: number): void {
  // Headers are compared with whitespace collapsed: only the words say which listing this is.
  if (line === undefined || line.content.split(/\s+/).join(' ') !== expected) {
    throw new IpvsParseError(line?.number ?? fallbackNumber, line?.text ?? '', `expected the /proc/net/ip_vs header "${expected}"`);
  }
}

function parseService(line: Line, hz: number): Omit<VirtualService, 'realServers'> {
  const service = SERVICE_LINE.exec(line.content);
  if (service !== null) {
    const [, protocol, ipv4Hex, ipv6, portHex, scheduler, rest] = service;
    return {
      protocol: protocol as 'TCP' | 'UDP' | 'SCTP',
      address: hexAddress(line, ipv4Hex, ipv6),
      port: parseInt(portHex ?? '', 16),
      scheduler: scheduler ?? '',
      ...parseServiceFlags(line, rest ?? '', hz),
    };
  }
  const fwm = FWM_LINE.exec(line.content);
  if (fwm !== null) {
    const [, markHex, scheduler, rest] = fwm;
    return {
      protocol: 'FWM',
      address: '',
      port: 0,
      firewallMark: parseInt(markHex ?? '', 16),
      scheduler: scheduler ?? '',
      ...parseServiceFlags(line, rest ?? '', hz),
    };
  }
  // ipvsadm prints the same headers, so its output gets this far: say so rather than just fail.
  const hint = /^(TCP|UDP|SCTP)\s+\d+\.\d+\.\d+\.\d+:/.test(line.content)
    ? ' (dotted addresses: this looks like `ipvsadm -Ln` output, which parseIpvsadmList reads)'
    : '';
  throw new IpvsParseError(
    line.number,
    line.text,
    `expected a service ("TCP  AC110002:0050 rr", "FWM  00000007 wrr") or a real server ("  -> 0A14000B:0050 Masq 1 0 0")${hint}`,
  );
}

/** What the kernel prints after the scheduler: `[ops] [persistent <jiffies> <netmask hex>]`. */
function parseServiceFlags(line: Line, rest: string, hz: number): Pick<VirtualService, 'schedulerFlags' | 'persistentSeconds'> {
  const tokens = rest
    .trim()
    .split(/\s+/)
    .filter((t) => t !== '');
  const schedulerFlags: string[] = [];
  let persistentSeconds: number | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === 'ops') {
      schedulerFlags.push('ops');
    } else if (token === 'persistent' && /^\d+$/.test(tokens[i + 1] ?? '') && /^[0-9A-Fa-f]{8}$/.test(tokens[i + 2] ?? '')) {
      // Integer division, as the kernel does when it reports the timeout to ipvsadm.
      persistentSeconds = Math.floor(Number(tokens[i + 1]) / hz);
      i += 2;
    } else {
      throw new IpvsParseError(line.number, line.text, `unexpected "${token}" after the scheduler; expected "ops" or "persistent <jiffies> <netmask>"`);
    }
  }
  return persistentSeconds === undefined ? { schedulerFlags } : { schedulerFlags, persistentSeconds };
}

function parseRealServer(line: Line): RealServer {
  const match = REAL_SERVER_LINE.exec(line.content);
  if (match === null) {
    throw new IpvsParseError(line.number, line.text, 'expected a real server like "  -> 0A14000B:0050      Masq    1      0          0"');
  }
  const [, ipv4Hex, ipv6, portHex, forward, weight, active, inactive] = match;
  return {
    address: hexAddress(line, ipv4Hex, ipv6),
    port: parseInt(portHex ?? '', 16),
    forward: forward as ForwardingMethod,
    weight: Number(weight),
    activeConns: Number(active),
    inactiveConns: Number(inactive),
  };
}

/** The kernel prints IPv4 as the host-order number in hex (`AC110002`), so the first byte is the first octet. */
export function ipv4FromHex(hex: string): string {
  const n = parseInt(hex, 16);
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

function hexAddress(line: Line, ipv4Hex: string | undefined, ipv6: string | undefined): string {
  if (ipv4Hex !== undefined) return ipv4FromHex(ipv4Hex);
  const address = canonicalIpAddress(ipv6 ?? '');
  if (address === undefined) {
    throw new IpvsParseError(line.number, line.text, `"[${ipv6 ?? ''}]" is not an IPv6 address`);
  }
  return address;
}
