import type { IpvsConnection } from './parse-proc-net-ip-vs-conn.js';

/**
 * The kernel's default timeout of each IPVS connection state, in seconds
 * (`tcp_timeouts` in net/netfilter/ipvs/ip_vs_proto_tcp.c, `udp_timeouts` in ip_vs_proto_udp.c).
 * `ipvsadm --set` changes three of them; the order below then drifts only across states.
 */
const STATE_TIMEOUT_SECONDS: Readonly<Record<string, number>> = {
  NONE: 2,
  ESTABLISHED: 15 * 60,
  SYN_SENT: 2 * 60,
  SYN_RECV: 60,
  FIN_WAIT: 2 * 60,
  TIME_WAIT: 2 * 60,
  CLOSE: 10,
  CLOSE_WAIT: 60,
  LAST_ACK: 30,
  LISTEN: 2 * 60,
  SYNACK: 2 * 60,
  UDP: 5 * 60,
};

/**
 * Seconds since the connection entered its state: the state's timeout minus what is left of it.
 * The kernel restarts the timer on every state change, so for a short request this is nearly
 * its age.
 */
export function secondsInState(c: IpvsConnection): number {
  const timeout = STATE_TIMEOUT_SECONDS[c.state];
  return timeout === undefined ? 0 : Math.max(0, timeout - c.expiresSeconds);
}

/** Linux's default `net.ipv4.ip_local_port_range`: where a client's port wraps round. */
const LOCAL_PORTS = { first: 32768, last: 60999 } as const;

/**
 * Puts connections in the order they were most likely made, oldest first.
 *
 * The connection table is a hash table: it keeps no order, and its expiry counts whole seconds,
 * so ten requests made within a second all look the same age. What does keep order is the
 * client's own port: Linux hands out a client's ports for one destination in increasing steps
 * (`__inet_hash_connect`), wrapping round at the end of the range. So connections are ordered by
 * age in whole seconds first, then, within a second and a client, by port, starting after the
 * widest gap between the ports (where the range, 32768-60999 by default, wrapped). Clients that connected within the same
 * second cannot be put in order against each other; they are taken by address.
 */
export function orderConnections(connections: readonly IpvsConnection[]): IpvsConnection[] {
  const groups = new Map<string, IpvsConnection[]>();
  for (const c of connections) {
    const key = `${secondsInState(c)}|${c.client.address}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(c);
  }
  const ordered = [...groups.values()].map((group) => ({
    age: secondsInState(group[0]!),
    client: group[0]!.client.address,
    connections: inPortOrder(group),
  }));
  ordered.sort((a, b) => b.age - a.age || (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
  return ordered.flatMap((g) => g.connections);
}

/** One client's connections by port, starting after the widest gap round the port circle. */
function inPortOrder(group: readonly IpvsConnection[]): IpvsConnection[] {
  const sorted = [...group].sort((a, b) => a.client.port - b.client.port);
  if (sorted.length < 2) return sorted;
  const lowest = sorted[0]!.client.port;
  const highest = sorted.at(-1)!.client.port;
  // The gap across the wrap: from the highest port to the end of the range, and from its start to the lowest.
  let widest = Math.max(LOCAL_PORTS.last, highest) + 1 - highest + (lowest - Math.min(LOCAL_PORTS.first, lowest));
  let start = 0;
  for (let i = 1; i < sorted.length; i++) {
    const gap = sorted[i]!.client.port - sorted[i - 1]!.client.port;
    if (gap > widest) {
      widest = gap;
      start = i;
    }
  }
  return [...sorted.slice(start), ...sorted.slice(0, start)];
}
