import { canonicalIpAddress } from './find-service.js';
import type { IpvsProtocol, VirtualService } from './ipvs-table.js';

export interface ServiceAddress {
  readonly protocol: IpvsProtocol;
  readonly address: string;
  readonly port: number;
}

/** ipvsadm's flag for each protocol, for messages that tell the learner what to type. */
export const PROTOCOL_FLAG: Readonly<Record<IpvsProtocol, string>> = { TCP: '-t', UDP: '-u', SCTP: '--sctp-service', FWM: '-f' };

/**
 * Parses the service notation used in lab files and messages, `TCP 10.0.0.1:80` or
 * `TCP [::1]:80`, the way `ipvsadm -L -n` prints a service.
 */
export function parseServiceAddress(text: string): ServiceAddress {
  const m = /^\s*(TCP|UDP|SCTP)\s+(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d{1,5})\s*$/.exec(text);
  if (!m) throw new Error(`service ${JSON.stringify(text)} is not of the form "TCP 10.0.0.1:80"`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new Error(`service ${JSON.stringify(text)} has port ${port}, outside 1-65535`);
  return { protocol: m[1] as IpvsProtocol, address: canonical(m[2] ?? '', text), port };
}

/** Parses `10.0.0.1:80` or `[::1]:80`. */
export function parseEndpoint(text: string): { address: string; port: number } {
  const m = /^\s*(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d{1,5})\s*$/.exec(text);
  if (!m) throw new Error(`endpoint ${JSON.stringify(text)} is not of the form "10.0.0.1:80"`);
  const port = Number(m[2]);
  // 0 is valid: real servers of firewall-mark services have no port.
  if (port > 65535) throw new Error(`endpoint ${JSON.stringify(text)} has port ${port}, outside 0-65535`);
  return { address: canonical(m[1] ?? '', text), port };
}

/** Addresses are compared in the form the parsers produce, so `[0:0::1]` matches `::1`. */
function canonical(bracketed: string, text: string): string {
  const address = canonicalIpAddress(bracketed.replace(/^\[|\]$/g, ''));
  if (address === undefined) throw new Error(`${JSON.stringify(text)} does not hold a valid IP address`);
  return address;
}

export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function formatService(s: ServiceAddress): string {
  return `${s.protocol} ${formatEndpoint(s.address, s.port)}`;
}

/** A listed service as ipvsadm names it, `TCP 10.0.0.1:80` or `FWM 7`: in messages, and the panel's key for it. */
export function describeService(s: VirtualService): string {
  return s.protocol === 'FWM' ? `FWM ${s.firewallMark ?? 0}` : formatService(s);
}
