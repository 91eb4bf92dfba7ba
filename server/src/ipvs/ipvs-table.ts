/**
 * The kernel's IPVS table as the lab's checks see it, independent of where it was read from
 * (`/proc/net/ip_vs` or `ipvsadm -Ln`).
 */

/** `FWM` services match a firewall mark instead of an address and port. */
export type IpvsProtocol = 'TCP' | 'UDP' | 'SCTP' | 'FWM';

/**
 * How the director forwards to a real server, spelled as the kernel prints it:
 * Masq is NAT (`-m`), Route is direct routing (`-g`), Tunnel is IPIP (`-i`), Local is a real
 * server on the director itself.
 */
export type ForwardingMethod = 'Masq' | 'Route' | 'Tunnel' | 'Local';

export interface RealServer {
  /** Dotted IPv4 or canonical (compressed) IPv6, e.g. `10.20.0.11` or `::2`. */
  readonly address: string;
  readonly port: number;
  readonly forward: ForwardingMethod;
  readonly weight: number;
  readonly activeConns: number;
  readonly inactiveConns: number;
}

export interface VirtualService {
  readonly protocol: IpvsProtocol;
  /** Empty for FWM services. */
  readonly address: string;
  /** 0 for FWM services. */
  readonly port: number;
  /** Only for FWM services. */
  readonly firewallMark?: number;
  readonly scheduler: string;
  /** Scheduler flags such as `sh-port`; empty when none are set. */
  readonly schedulerFlags: readonly string[];
  /** Persistence timeout in seconds, when the service is persistent. */
  readonly persistentSeconds?: number;
  /**
   * In the order the source printed them. `/proc/net/ip_vs` prints the kernel's list order,
   * newest first, which is the order rr walks; `ipvsadm -Ln` sorts by address.
   */
  readonly realServers: readonly RealServer[];
}

export interface IpvsTable {
  readonly services: readonly VirtualService[];
}
