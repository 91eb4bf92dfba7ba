import { canonicalIpAddress } from './find-service.js';
import { IpvsParseError } from './ipvs-parse-error.js';
import { collectServices, REAL_SERVER_HEADER, SERVICE_HEADER, significantLines, VERSION_LINE, type Line } from './listing-lines.js';
import type { ForwardingMethod, IpvsTable, RealServer, VirtualService } from './ipvs-table.js';

/**
 * Other listings a learner may paste by mistake, recognised by a word of their first header, so
 * the error can name the option to drop instead of only saying what was expected.
 */
const OTHER_LISTINGS: readonly { readonly marker: RegExp; readonly what: string }[] = [
  { marker: /\bInPkts\b/, what: '`ipvsadm -Ln --stats` (counters)' },
  { marker: /\bInPPS\b/, what: '`ipvsadm -Ln --rate`' },
  { marker: /\bPersistConn\b/, what: '`ipvsadm -Ln --persistent-conn`' },
  { marker: /\bUthreshold\b/, what: '`ipvsadm -Ln --thresholds`' },
  { marker: /^IPVS connection entries$/, what: '`ipvsadm -Lnc` (connections)' },
  { marker: /^-[AaRr] /, what: '`ipvsadm -S` (saved rules)' },
];

const SERVICE_LINE = /^(TCP|UDP|SCTP)\s+(\S+)\s+(\S+)(.*)$/;
const FWM_LINE = /^FWM\s+(\d+)\s+(\S+)(.*)$/;
const REAL_SERVER_LINE = /^->\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)$/;
const FORWARDING_METHODS: readonly string[] = ['Masq', 'Route', 'Tunnel', 'Local'] satisfies ForwardingMethod[];

/**
 * Parses `ipvsadm -Ln` (also `ipvsadm -Ln -t <vip>:<port>`, which has no version line).
 *
 * Services and real servers keep the printed order; ipvsadm sorts both (services by mark, family,
 * protocol, address, port; real servers by address), so it is not the kernel's order: read
 * `/proc/net/ip_vs` for that.
 *
 * Scheduler flags (`sh (sh-fallback,sh-port)`) and `ops` become `schedulerFlags`; the persistence
 * `mask` and `pe` are accepted and not reported, as the table has no place for them.
 *
 * @throws IpvsParseError on the first line that is not part of such a listing: input that is not
 *   a listing at all, another listing (`--stats`, `-c`, `-S`), or names instead of numbers
 *   (`ipvsadm -L` without `-n`), with a message that says which.
 */
export function parseIpvsadmList(text: string): IpvsTable {
  const lines = significantLines(text);
  const body = skipHeaders(lines);

  return collectServices(body, parseService, parseRealServer);
}

function skipHeaders(lines: readonly Line[]): readonly Line[] {
  const [first] = lines;
  if (first === undefined) {
    throw new IpvsParseError(1, '', 'the input is empty, expected the output of `ipvsadm -Ln`');
  }
  const rest = VERSION_LINE.test(first.content) ? lines.slice(1) : lines;
  expectHeader(rest[0], SERVICE_HEADER, first);
  expectHeader(rest[1], REAL_SERVER_HEADER, rest[0] ?? first);
  return rest.slice(2);
}

function expectHeader(line: Line | undefined, expected: string, previous: Line): void {
  // Compared with whitespace collapsed: ipvsadm pads its columns, only the words matter.
  if (line !== undefined && line.content.split(/\s+/).join(' ') === expected) return;
  const number = line?.number ?? previous.number + 1;
  const text = line?.text ?? '';
  const other = OTHER_LISTINGS.find((o) => o.marker.test(text));
  if (other !== undefined) {
    throw new IpvsParseError(number, text, `this is ${other.what} output; the table needs plain \`ipvsadm -Ln\``);
  }
  throw new IpvsParseError(number, text, `this is not \`ipvsadm -Ln\` output, expected the header "${expected}"`);
}

function parseService(line: Line): Omit<VirtualService, 'realServers'> {
  const service = SERVICE_LINE.exec(line.content);
  if (service !== null) {
    const [, protocol, addressPort, scheduler, rest] = service;
    const { address, port } = parseAddressPort(line, addressPort ?? '');
    return {
      protocol: protocol as 'TCP' | 'UDP' | 'SCTP',
      address,
      port,
      scheduler: scheduler ?? '',
      ...parseServiceFlags(line, rest ?? ''),
    };
  }
  const fwm = FWM_LINE.exec(line.content);
  if (fwm !== null) {
    const [, mark, scheduler, rest] = fwm;
    return {
      protocol: 'FWM',
      address: '',
      port: 0,
      firewallMark: Number(mark),
      scheduler: scheduler ?? '',
      ...parseServiceFlags(line, rest ?? ''),
    };
  }
  throw new IpvsParseError(
    line.number,
    line.text,
    'expected a service ("TCP  172.17.0.2:80 rr", "FWM  7 wrr") or a real server ("-> 10.20.0.11:80 Masq 1 0 0")',
  );
}

/**
 * What ipvsadm prints after the scheduler:
 * `[(flag,flag)] [persistent <s> [mask <m>] [pe <name>]] [ops]`.
 */
function parseServiceFlags(line: Line, rest: string): Pick<VirtualService, 'schedulerFlags' | 'persistentSeconds'> {
  const tokens = rest.split(/\s+/).filter((t) => t !== '');
  const schedulerFlags: string[] = [];
  let persistentSeconds: number | undefined;
  const unexpected = (token: string): IpvsParseError =>
    new IpvsParseError(line.number, line.text, `unexpected "${token}" after the scheduler; expected "(flags)", "persistent <seconds>", "mask", "pe" or "ops"`);

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    const next = tokens[i + 1];
    if (i === 0 && /^\([\w,-]+\)$/.test(token)) {
      schedulerFlags.push(...token.slice(1, -1).split(','));
    } else if (token === 'persistent' && next !== undefined && /^\d+$/.test(next)) {
      persistentSeconds = Number(next);
      i++;
    } else if ((token === 'mask' || token === 'pe') && persistentSeconds !== undefined && next !== undefined) {
      i++;
    } else if (token === 'ops') {
      schedulerFlags.push('ops');
    } else {
      throw unexpected(token);
    }
  }
  return persistentSeconds === undefined ? { schedulerFlags } : { schedulerFlags, persistentSeconds };
}

function parseRealServer(line: Line): RealServer {
  const match = REAL_SERVER_LINE.exec(line.content);
  const [, addressPort, forward, weight, active, inactive] = match ?? [];
  if (match === null || forward === undefined || !FORWARDING_METHODS.includes(forward)) {
    throw new IpvsParseError(line.number, line.text, 'expected a real server like "-> 10.20.0.11:80  Masq  1  0  0" (forwarding Masq, Route, Tunnel or Local)');
  }
  return {
    ...parseAddressPort(line, addressPort ?? ''),
    forward: forward as ForwardingMethod,
    weight: Number(weight),
    activeConns: Number(active),
    inactiveConns: Number(inactive),
  };
}

/** `10.20.0.11:80` or `[::2]:80`; a name in either half means the listing was made without `-n`. */
function parseAddressPort(line: Line, token: string): { address: string; port: number } {
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(token);
  const colon = token.lastIndexOf(':');
  const [host, portText] = bracketed !== null ? [bracketed[1] ?? '', bracketed[2] ?? ''] : [token.slice(0, colon), token.slice(colon + 1)];
  // ipvsadm always brackets IPv6, so a bare colon inside the host means the line is not its output.
  if (bracketed === null && (colon === -1 || host.includes(':'))) {
    throw new IpvsParseError(line.number, line.text, `expected <address>:<port> or [<IPv6>]:<port>, got "${token}"`);
  }

  const address = canonicalIpAddress(host);
  if (address === undefined && /^[0-9A-F]{8}$/.test(host) && /^[0-9A-F]{4}$/.test(portText)) {
    throw new IpvsParseError(line.number, line.text, `"${token}" is a hex address: this looks like /proc/net/ip_vs, which parseProcNetIpVs reads`);
  }
  if (address === undefined) {
    throw new IpvsParseError(line.number, line.text, `"${host}" is a name, not an address: list the table with \`ipvsadm -Ln\` (-n prints numbers)`);
  }
  if (/^[A-Za-z]/.test(portText)) {
    throw new IpvsParseError(
      line.number,
      line.text,
      `port "${portText}" is a service name, not a number: list the table with \`ipvsadm -Ln\` (-n prints numbers)`,
    );
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port <= 65535)) {
    throw new IpvsParseError(line.number, line.text, `"${portText}" in "${token}" is not a port number`);
  }
  return { address, port };
}
