/**
 * Which Host and Origin headers the server answers. A web page the operator visits could
 * otherwise reach the server through DNS rebinding (a name of the attacker's that resolves to
 * 127.0.0.1) and get a root shell; such requests carry the attacker's name in Host and Origin.
 * IP literals and localhost names cannot be rebound, so they are always allowed; any other name
 * must be listed by the operator.
 */

export interface HostPolicy {
  /** Lower-case names; `*.example.org` allows every name under example.org (not example.org itself). */
  readonly names: readonly string[];
}

export function hostPolicy(allowedHosts: readonly string[], publicUrl: string): HostPolicy {
  const names = allowedHosts.map((h) => h.toLowerCase());
  if (publicUrl) names.push(new URL(publicUrl).hostname.toLowerCase());
  return { names };
}

/** The host name of a Host header (`[::1]:3000` → `::1`), or undefined if it is malformed. */
export function hostnameOf(hostHeader: string): string | undefined {
  const value = hostHeader.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    const rest = value.slice(end + 1);
    if (end < 0 || (rest !== '' && !/^:\d{1,5}$/.test(rest))) return undefined;
    return value.slice(1, end);
  }
  const match = /^([^:]+)(:\d{1,5})?$/.exec(value);
  return match?.[1];
}

function isIpv4(name: string): boolean {
  const parts = name.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function isIpv6(name: string): boolean {
  return /^[0-9a-f:.]+$/.test(name) && name.includes(':');
}

/** Whether a bare host name (no port, no brackets) is one this server answers to. */
export function nameAllowed(name: string, policy: HostPolicy): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n === '' || n.length > 253) return false;
  if (n === 'localhost' || n.endsWith('.localhost') || isIpv4(n) || isIpv6(n)) return true;
  return policy.names.some((allowed) => (allowed.startsWith('*.') ? n.endsWith(allowed.slice(1)) && n.length > allowed.length - 1 : n === allowed));
}

export function hostAllowed(hostHeader: string | undefined, policy: HostPolicy): boolean {
  if (!hostHeader) return false;
  const name = hostnameOf(hostHeader);
  return name !== undefined && nameAllowed(name, policy);
}

/** An Origin header's host must be allowed too; `null` (sandboxed frames, files) never is. */
export function originAllowed(origin: string | undefined, policy: HostPolicy): boolean {
  if (!origin || origin === 'null') return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  return nameAllowed(url.hostname.replace(/^\[|\]$/g, ''), policy);
}

/** The refusal, for both HTTP requests and upgrades. */
export function hostRefusal(what: 'Host' | 'Origin', value: string | undefined): string {
  return `this server does not answer to ${what} ${JSON.stringify(value ?? '')}: only localhost names, IP addresses and the names in IPVS_LAB_ALLOWED_HOSTS or IPVS_LAB_PUBLIC_URL are allowed (the operator can add this one)`;
}
