/**
 * IPv4 subnet arithmetic for session networks. Docker's default address pools hold about thirty
 * networks, so each session network gets an explicit small subnet carved from a pool the operator
 * sets: a /16 holds 4,096 sessions of a /28.
 */

export interface Ipv4Cidr {
  /** The network address as an unsigned 32-bit integer. */
  readonly base: number;
  readonly prefix: number;
}

export class CidrError extends Error {
  override readonly name = 'CidrError';
}

function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function size(prefix: number): number {
  return 2 ** (32 - prefix);
}

/**
 * Parses `10.200.0.0/16`. Strictly, the address must be the network's first address (an operator
 * who typed 10.200.0.1/16 should hear about it); loosely, it is rounded down to it.
 */
export function parseCidr(text: string, options: { strict: boolean } = { strict: true }): Ipv4Cidr {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(text.trim());
  const base = match ? parseIpv4(match[1]!) : undefined;
  const prefix = match ? Number(match[2]) : NaN;
  if (base === undefined || !(prefix >= 0 && prefix <= 32)) throw new CidrError(`${JSON.stringify(text)} is not an IPv4 subnet such as 10.200.0.0/16`);
  if (base % size(prefix) !== 0) {
    if (!options.strict) return { base: base - (base % size(prefix)), prefix };
    throw new CidrError(`${text} does not start on a /${prefix} boundary (the network is ${formatIpv4(base - (base % size(prefix)))}/${prefix})`);
  }
  return { base, prefix };
}

export function formatCidr(cidr: Ipv4Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.prefix}`;
}

export function overlaps(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.base < b.base + size(b.prefix) && b.base < a.base + size(a.prefix);
}

/** How many subnets of `prefix` the pool holds. */
export function capacity(pool: Ipv4Cidr, prefix: number): number {
  return prefix < pool.prefix ? 0 : size(pool.prefix) / size(prefix);
}

/**
 * The first subnet of `prefix` in `pool` that overlaps none of `used`, or undefined when the pool
 * is full. One sweep over the used networks in address order, jumping past each one that blocks
 * the candidate, so a pool with thousands of networks in use is still searched quickly.
 */
export function firstFreeSubnet(pool: Ipv4Cidr, prefix: number, used: readonly Ipv4Cidr[]): Ipv4Cidr | undefined {
  if (prefix < pool.prefix || prefix > 32) return undefined;
  const step = size(prefix);
  const end = pool.base + size(pool.prefix);
  const relevant = used.filter((u) => overlaps(u, pool)).sort((a, b) => a.base - b.base);
  let candidate = pool.base;
  // Every network already passed ends at or before the candidate, so none of them can block it.
  for (const u of relevant) {
    if (candidate + step > end) return undefined;
    if (u.base >= candidate + step) break;
    candidate = Math.max(candidate, Math.ceil((u.base + size(u.prefix)) / step) * step);
  }
  return candidate + step <= end ? { base: candidate, prefix } : undefined;
}

/** Addresses left free in every session subnet for a lab to add by hand (secondary addresses, say). */
export const SPARE_ADDRESSES = 4;

/**
 * The longest prefix (the smallest subnet) that holds `hosts` containers, the network and
 * broadcast addresses, Docker's gateway address (reserved even when the bridge gets no address)
 * and `spare` free addresses a lab may add by hand; never longer than `atMost`.
 */
export function prefixFor(hosts: number, spare: number, atMost: number): number {
  const needed = hosts + spare + 3;
  return Math.min(atMost, 32 - Math.ceil(Math.log2(needed)));
}

/**
 * The address of the `index`-th host in a subnet: after the network address and the gateway
 * address Docker reserves (.0 and .1 of a /28 at 10.200.0.0 give 10.200.0.2 for the first host).
 */
export function hostAddress(subnet: Ipv4Cidr, index: number): string {
  const offset = index + 2;
  if (offset >= size(subnet.prefix) - 1) throw new CidrError(`host ${index + 1} does not fit in ${formatCidr(subnet)}`);
  return formatIpv4(subnet.base + offset);
}
