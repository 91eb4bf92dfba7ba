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
 * Seconds since the connection's last packet: its state's timeout minus what is left of it. The
 * kernel restarts the timer on every packet, so for a short request this is nearly its age.
 */
export function secondsInState(c: IpvsConnection): number {
  const timeout = STATE_TIMEOUT_SECONDS[c.state];
  return timeout === undefined ? 0 : Math.max(0, timeout - c.expiresSeconds);
}

/**
 * The age {@link secondsInState} gives, when it means something. A connection the kernel is still
 * setting up has no timer yet, and the table prints 0 left for it: read as "the whole timeout
 * gone", the newest connection would look the oldest.
 */
function knownAge(c: IpvsConnection): number | undefined {
  return c.expiresSeconds > 0 ? secondsInState(c) : undefined;
}

/** Linux's default `net.ipv4.ip_local_port_range`: where a client's port wraps round. */
const LOCAL_PORTS = { first: 32768, last: 60999 } as const;

/**
 * The widest step between two ports a client takes one after the other for one destination.
 * Linux steps by 2 to 16, plus the ports it skipped because they were busy; every ten seconds it
 * starts again from a new random place (below), which is almost always further away than this.
 */
const RUN_GAP = 512;

/** How far a client's port moves forward from `a` to `b`, round the local port range. */
function forward(a: number, b: number): number {
  if (b >= a) return b - a;
  const inRange = (p: number) => p >= LOCAL_PORTS.first && p <= LOCAL_PORTS.last;
  return inRange(a) && inRange(b) ? LOCAL_PORTS.last + 1 - a + (b - LOCAL_PORTS.first) : b + 65536 - a;
}

/**
 * What else a reading knows about the order of its connections.
 */
export interface OrderHints {
  /**
   * The last client port seen before, per flow ({@link flowOf}): a run of ports that carries on
   * from it came next.
   */
  readonly lastPorts?: ReadonlyMap<string, number>;
  /**
   * Hundredths of a second left of the client socket's TIME_WAIT, per connection
   * ({@link clockKey}), for clients in the director's own network namespace. TIME_WAIT lasts a
   * fixed 60 s, so within one reading less left means it closed earlier: a clock 100 times finer
   * than the connection table's.
   */
  readonly timeWaitLeft?: ReadonlyMap<string, number>;
}

/** A client's connections to one virtual address: the unit Linux numbers client ports in. */
export function flowOf(c: IpvsConnection): string {
  return `${c.protocol} ${c.client.address} ${c.virtual.address} ${c.virtual.port}`;
}

/** The key of a connection's client socket in {@link OrderHints.timeWaitLeft}. */
export function clockKey(client: { address: string; port: number }, virtual: { address: string; port: number }): string {
  return `${client.address}:${client.port}>${virtual.address}:${virtual.port}`;
}

/**
 * Puts connections in the order they were most likely made, oldest first.
 *
 * The connection table is a hash table: it keeps no order, and its expiry counts whole seconds,
 * so ten requests made within a second all look the same age. What does keep order is the
 * client's port: for one destination, Linux hands out increasing ports, in steps of 2 to 16
 * (`__inet_hash_connect`), wrapping round at the end of the range (32768-60999 by default). But
 * every ten seconds it starts from a new random place (`secure_ipv4_port_ephemeral` hashes
 * `jiffies / EPHEMERAL_PORT_SHUFFLE_PERIOD`), up or down. So a client's connections to one
 * virtual address (a flow) fall into runs of close ports: each run is in port order, and runs
 * are put in order by, first, the one that carries on from the last port seen before, then the
 * TIME_WAIT clock of the client's sockets, then age in whole seconds. Flows are then merged by
 * the same clock and age. What none of these can tell apart (two runs, or two clients, within
 * the same second, with clients outside the director) is taken by lowest port, then by address.
 */
export function orderConnections(connections: readonly IpvsConnection[], hints: OrderHints = {}): IpvsConnection[] {
  const flows = new Map<string, IpvsConnection[]>();
  for (const c of connections) {
    const key = flowOf(c);
    let flow = flows.get(key);
    if (!flow) flows.set(key, (flow = []));
    flow.push(c);
  }
  const clock = (c: IpvsConnection) => hints.timeWaitLeft?.get(clockKey(c.client, c.virtual));
  const sequences = [...flows].map(([key, flow]) => {
    const last = hints.lastPorts?.get(key);
    const runs = portRuns(flow).sort((a, b) => compareRuns(a, b, last, clock));
    return runs.flat();
  });
  return merge(sequences, clock);
}

/** A flow's connections split into runs of close ports, each in port order. */
function portRuns(flow: readonly IpvsConnection[]): IpvsConnection[][] {
  const sorted = [...flow].sort((a, b) => a.client.port - b.client.port);
  const n = sorted.length;
  if (n < 2) return [sorted];
  const gapAfter = (i: number) => forward(sorted[i]!.client.port, sorted[(i + 1) % n]!.client.port);
  let cuts = sorted.map((_, i) => i).filter((i) => gapAfter(i) > RUN_GAP);
  // No wide gap anywhere round the circle: one run, starting after the widest step.
  if (cuts.length === 0) cuts = [sorted.map((_, i) => i).reduce((widest, i) => (gapAfter(i) > gapAfter(widest) ? i : widest), n - 1)];
  return cuts.map((cut, k) => {
    const end = cuts[(k + 1) % cuts.length]!;
    const run: IpvsConnection[] = [];
    for (let i = (cut + 1) % n; ; i = (i + 1) % n) {
      run.push(sorted[i]!);
      if (i === end) break;
    }
    return run;
  });
}

function compareRuns(a: IpvsConnection[], b: IpvsConnection[], lastPort: number | undefined, clock: (c: IpvsConnection) => number | undefined): number {
  if (lastPort !== undefined) {
    const carriesOn = (run: IpvsConnection[]) => forward(lastPort, run[0]!.client.port) <= RUN_GAP;
    if (carriesOn(a) !== carriesOn(b)) return carriesOn(a) ? -1 : 1;
  }
  // Every connection of the earlier run is older than every one of the later: any clock will do.
  const earliestClock = (run: IpvsConnection[]) => minimum(run.map(clock));
  const [ca, cb] = [earliestClock(a), earliestClock(b)];
  if (ca !== undefined && cb !== undefined && ca !== cb) return ca - cb;
  const oldest = (run: IpvsConnection[]) => maximum(run.map(knownAge)) ?? 0;
  return oldest(b) - oldest(a) || a[0]!.client.port - b[0]!.client.port;
}

/** Merges flows, each already in order, by which head is older. */
function merge(sequences: IpvsConnection[][], clock: (c: IpvsConnection) => number | undefined): IpvsConnection[] {
  const heads = sequences.map(() => 0);
  const ordered: IpvsConnection[] = [];
  for (;;) {
    let pick = -1;
    for (let s = 0; s < sequences.length; s++) {
      const c = sequences[s]![heads[s]!];
      if (c === undefined) continue;
      if (pick < 0 || olderThan(c, sequences[pick]![heads[pick]!]!, clock)) pick = s;
    }
    if (pick < 0) return ordered;
    ordered.push(sequences[pick]![heads[pick]!++]!);
  }
}

function olderThan(a: IpvsConnection, b: IpvsConnection, clock: (c: IpvsConnection) => number | undefined): boolean {
  const [ca, cb] = [clock(a), clock(b)];
  if (ca !== undefined && cb !== undefined && ca !== cb) return ca < cb;
  const [aa, ab] = [knownAge(a) ?? 0, knownAge(b) ?? 0];
  if (aa !== ab) return aa > ab;
  return a.client.address < b.client.address;
}

function minimum(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length > 0 ? Math.min(...known) : undefined;
}

function maximum(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length > 0 ? Math.max(...known) : undefined;
}
