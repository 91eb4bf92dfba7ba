import type { IpvsProtocol, IpvsTable, VirtualService } from './ipvs-table.js';

/**
 * Finds the virtual service a learner was asked to create.
 *
 * Addresses are compared by value, so `::1`, `0:0:0:0:0:0:0:1` and `[::1]` are the same VIP.
 * For `FWM` services there is no address or port: pass `''` as `address` and the firewall mark as
 * `port`.
 *
 * @throws TypeError when `address` is not an IPv4 or IPv6 literal (a hostname, a typo), or is not
 *   empty for `FWM`: that is a bug in the caller, not a missing service.
 */
export function findService(table: IpvsTable, protocol: IpvsProtocol, address: string, port: number): VirtualService | undefined {
  if (protocol === 'FWM') {
    if (address !== '') {
      throw new TypeError(`findService: FWM services have no address, got "${address}"; pass '' and the mark as port`);
    }
    return table.services.find((s) => s.protocol === 'FWM' && s.firewallMark === port);
  }
  const unbracketed = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const wanted = canonicalIpAddress(unbracketed);
  if (wanted === undefined) {
    throw new TypeError(`findService: "${address}" is not an IPv4 or IPv6 address`);
  }
  return table.services.find(
    (s) =>
      s.protocol === protocol &&
      s.port === port &&
      // Tables built by hand (tests, fixtures) may spell addresses differently from the parsers.
      (canonicalIpAddress(s.address) ?? s.address) === wanted,
  );
}

/**
 * The one spelling of an IP address that the IPVS parsers produce and `findService` compares:
 * dotted decimal for IPv4; for IPv6, the form glibc's `inet_ntop` prints (and so `ipvsadm -Ln`):
 * lowercase, no leading zeros, the first longest run of two or more zero groups as `::`, and
 * IPv4-mapped/-compatible addresses with a dotted tail (`::ffff:10.0.0.1`).
 *
 * Returns `undefined` when `text` is not an address literal (hostnames, zone ids, brackets).
 */
export function canonicalIpAddress(text: string): string | undefined {
  const ipv4 = parseIpv4(text);
  if (ipv4 !== undefined) return ipv4.join('.');
  const ipv6 = parseIpv6(text);
  return ipv6 === undefined ? undefined : formatIpv6(ipv6);
}

function parseIpv4(text: string): number[] | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (match === null) return undefined;
  const octets = match.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : undefined;
}

/** The eight 16-bit groups of an IPv6 literal. */
function parseIpv6(text: string): number[] | undefined {
  const lastColon = text.lastIndexOf(':');
  if (lastColon === -1) return undefined;
  let hexText = text;
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const octets = parseIpv4(tail);
    if (octets === undefined) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    hexText = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = hexText.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)));
  const [head = '', rest] = halves;
  const before = groupsOf(head);
  if (rest === undefined) {
    return before.length === 8 && !before.some(Number.isNaN) ? before : undefined;
  }
  const after = groupsOf(rest);
  // `::` stands for at least one zero group.
  if (before.length + after.length > 7 || [...before, ...after].some(Number.isNaN)) return undefined;
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
}

function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < groups.length && groups[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  // RFC 5952 and glibc: a lone zero group is written out, never shortened to `::`.
  if (bestLength < 2) bestStart = -1;

  const hi = groups[6] ?? 0;
  const lo = groups[7] ?? 0;
  const dotted = `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  if (bestStart === 0 && bestLength === 6) return `::${dotted}`;
  if (bestStart === 0 && bestLength === 5 && groups[5] === 0xffff) return `::ffff:${dotted}`;

  const hex = (part: readonly number[]): string => part.map((g) => g.toString(16)).join(':');
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}
