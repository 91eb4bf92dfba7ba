import { IPVS_PANEL_RECENT, type IpvsPanelConnection, type IpvsPanelCounters, type IpvsPanelService, type IpvsPanelTable } from '../../../common/api.js';
import { flowOf, orderConnections } from './connection-order.js';
import { IpvsParseError } from './ipvs-parse-error.js';
import type { VirtualService } from './ipvs-table.js';
import { parseIpvsadmList } from './parse-ipvsadm-list.js';
import { parseIpvsadmStats, type ServiceStats } from './parse-ipvsadm-stats.js';
import { parseProcNetIpVsConn, type IpvsConnection } from './parse-proc-net-ip-vs-conn.js';
import { describeService, formatEndpoint } from './service-address.js';
import { parseTimeWaitClock, TIME_WAIT_LINES } from './time-wait-clock.js';

/**
 * Lines of each listing the panel reads. A node with thousands of services (the iptables lab
 * loads 5,000) shows the first ones, in ipvsadm's sorted order, and how many more there are; the
 * reads stay small however large the table grows.
 */
export const PANEL_MAX_LINES = 400;
/** Connections read from the connection table; past this, the traffic view misses some. */
export const PANEL_MAX_CONNECTIONS = 2000;

/**
 * What the trusted checker runs for one reading, in the director's network namespace. It only
 * reads: the kernel's own files and ipvsadm's listings (the checker's ipvsadm, not the learner's).
 * Exit 3 means the kernel has no IPVS.
 */
export const PANEL_SCRIPT = [
  `[ -r /proc/net/ip_vs ] || { echo "/proc/net/ip_vs is missing" >&2; exit 3; }`,
  `echo '@@ services'`,
  `grep -cE '^(TCP|UDP|SCTP|FWM) ' /proc/net/ip_vs`,
  `echo '@@ list'`,
  `ipvsadm -Ln 2>&1 | head -n ${PANEL_MAX_LINES}`,
  `echo '@@ stats'`,
  `ipvsadm -Ln --stats --exact 2>&1 | head -n ${PANEL_MAX_LINES}`,
  `echo '@@ conns'`,
  `head -n ${PANEL_MAX_CONNECTIONS + 1} /proc/net/ip_vs_conn`,
  // The director's own clients' closed sockets: a finer clock for the order of their connections.
  `echo '@@ sockets'`,
  `grep -E '${TIME_WAIT_LINES}' /proc/net/tcp | head -n ${PANEL_MAX_CONNECTIONS}`,
].join('\n');

/** One reading of the director, parsed. */
export interface PanelReading {
  /** Services the kernel has, listed or not. */
  readonly serviceCount: number;
  /** Those listed in full, sorted as ipvsadm sorts them. */
  readonly services: readonly VirtualService[];
  readonly stats: readonly ServiceStats[];
  readonly connections: readonly IpvsConnection[];
  readonly connectionsTruncated: boolean;
  /** Hundredths of a second left of the director's clients' TIME_WAIT sockets (see OrderHints). */
  readonly timeWaitLeft: ReadonlyMap<string, number>;
}

const SECTIONS = ['services', 'list', 'stats', 'conns', 'sockets'] as const;

/**
 * Parses what {@link PANEL_SCRIPT} printed.
 *
 * @throws IpvsParseError when a section is missing or is not the listing it should be (ipvsadm
 *   printed an error instead, say); the line number is the line of the whole output.
 */
export function parsePanelReading(stdout: string): PanelReading {
  const lines = stdout.split('\n');
  const at = new Map<string, number>();
  lines.forEach((line, i) => {
    const m = /^@@ (\w+)$/.exec(line);
    if (m) at.set(m[1]!, i);
  });
  const section = (name: (typeof SECTIONS)[number]): { text: string; lines: number; offset: number } => {
    const start = at.get(name);
    if (start === undefined) throw new IpvsParseError(lines.length, '', `the panel's reading has no "@@ ${name}" section`);
    const next = SECTIONS.slice(SECTIONS.indexOf(name) + 1)
      .map((s) => at.get(s))
      .find((i) => i !== undefined);
    const body = lines.slice(start + 1, next ?? lines.length);
    while (body.length > 0 && body.at(-1) === '') body.pop();
    return { text: body.join('\n'), lines: body.length, offset: start + 1 };
  };
  const relined = <T>(offset: number, read: () => T): T => {
    try {
      return read();
    } catch (e) {
      if (e instanceof IpvsParseError) throw new IpvsParseError(e.line + offset, e.text, e.problem);
      throw e;
    }
  };

  const count = section('services');
  const serviceCount = Number(count.text.trim());
  if (!/^\d+$/.test(count.text.trim())) throw new IpvsParseError(count.offset + 1, count.text, 'expected the number of services');
  const list = section('list');
  let services = relined(list.offset, () => parseIpvsadmList(list.text).services);
  // Cut short: the last service may be missing real servers, so it is not shown half.
  if (list.lines >= PANEL_MAX_LINES) services = services.slice(0, -1);
  const stats = section('stats');
  const conns = section('conns');
  return {
    serviceCount,
    services,
    stats: relined(stats.offset, () => parseIpvsadmStats(stats.text)),
    connections: relined(conns.offset, () => parseProcNetIpVsConn(conns.text)),
    connectionsTruncated: conns.lines > PANEL_MAX_CONNECTIONS,
    timeWaitLeft: parseTimeWaitClock(section('sockets').text),
  };
}

type Entry = { -readonly [K in keyof IpvsPanelConnection]: IpvsPanelConnection[K] };

function identity(c: IpvsConnection): string {
  return `${c.protocol} ${formatEndpoint(c.client.address, c.client.port)} ${formatEndpoint(c.virtual.address, c.virtual.port)} ${formatEndpoint(c.destination.address, c.destination.port)}`;
}

/**
 * Readings a connection may be missing from before it is forgotten. The kernel prints
 * /proc/net/ip_vs_conn a page at a time while connections come and go, so one reading can skip a
 * connection, or list one twice; a connection back after a skipped reading is the same one, not a
 * new one. One that has really gone does not come back under the same client port so soon (the
 * client keeps the port in TIME_WAIT for a minute).
 */
const FORGET_AFTER_READINGS = 3;

/**
 * Which real server took each of a service's last connections, kept across readings.
 *
 * The connection table forgets a connection two minutes after it closed and says nothing of the
 * order connections came in. So each reading adds only the connections not seen in the reading
 * before, in the order {@link orderConnections} finds for them (helped by the last port of each
 * flow and the reading's TIME_WAIT clock), and the list outlives the table. What a reading cannot
 * see is a connection that came and went between two readings (a UDP flow or a refused one
 * expires in seconds, but a TCP connection stays two minutes).
 */
export class ConnectionHistory {
  private readonly recent = new Map<string, Entry[]>();
  /** The connections seen lately, by identity, with the number of the reading that last saw each. */
  private readonly known = new Map<string, { readonly entry: Entry | null; readonly service?: string; seen: number }>();
  private readings = 0;
  /** The newest client port of each flow seen so far, for flows still in the table. */
  private lastPorts = new Map<string, number>();

  /**
   * Takes a reading in; returns the recent connections and templates of each service, by key.
   * `timeWaitLeft` is the reading's clock of the director's own clients (see OrderHints).
   */
  update(
    services: readonly VirtualService[],
    connections: readonly IpvsConnection[],
    timeWaitLeft: ReadonlyMap<string, number> = new Map(),
  ): { recent: ReadonlyMap<string, readonly IpvsPanelConnection[]>; templates: ReadonlyMap<string, number> } {
    const owner = serviceFinder(services);
    const keys = new Set(services.map(describeService));
    // A service removed (ipvsadm -C, -D) takes its history with it: the one added again is new,
    // and starts from the connections the table still holds.
    for (const key of this.recent.keys()) if (!keys.has(key)) this.recent.delete(key);
    for (const [id, { service }] of this.known) if (service !== undefined && !keys.has(service)) this.known.delete(id);

    const reading = ++this.readings;
    const templates = new Map<string, number>();
    const flows = new Set<string>();
    const fresh: IpvsConnection[] = [];
    for (const c of connections) {
      // A persistence template records a client's pick, not a connection: its client port is 0.
      if (c.client.port === 0) {
        const key = owner(c);
        if (key !== undefined) templates.set(key, (templates.get(key) ?? 0) + 1);
        continue;
      }
      flows.add(flowOf(c));
      const id = identity(c);
      const known = this.known.get(id);
      if (known === undefined) {
        // Listed twice in one reading (see FORGET_AFTER_READINGS): once is enough.
        this.known.set(id, { entry: null, seen: reading });
        fresh.push(c);
      } else {
        known.seen = reading;
        if (known.entry) known.entry.state = c.state;
      }
    }
    const lastPorts = new Map([...this.lastPorts].filter(([flow]) => flows.has(flow)));
    for (const c of orderConnections(fresh, { lastPorts: this.lastPorts, timeWaitLeft })) {
      lastPorts.set(flowOf(c), c.client.port);
      const key = owner(c);
      if (key === undefined) continue;
      const entry: Entry = {
        server: formatEndpoint(c.destination.address, c.destination.port),
        client: formatEndpoint(c.client.address, c.client.port),
        state: c.state,
      };
      this.known.set(identity(c), { entry, service: key, seen: reading });
      let list = this.recent.get(key);
      if (!list) this.recent.set(key, (list = []));
      list.push(entry);
      if (list.length > IPVS_PANEL_RECENT) list.splice(0, list.length - IPVS_PANEL_RECENT);
    }
    for (const [id, { seen }] of this.known) if (reading - seen > FORGET_AFTER_READINGS) this.known.delete(id);
    this.lastPorts = lastPorts;
    return { recent: this.recent, templates };
  }
}

/**
 * The service a connection belongs to: by its virtual address, or for a firewall-mark service
 * (whose connections carry the packet's own destination) by the real server it went to.
 */
function serviceFinder(services: readonly VirtualService[]): (c: IpvsConnection) => string | undefined {
  const byAddress = new Map(services.filter((s) => s.protocol !== 'FWM').map((s) => [describeService(s), s]));
  const marked = services.filter((s) => s.protocol === 'FWM');
  return (c) => {
    const key = `${c.protocol} ${formatEndpoint(c.virtual.address, c.virtual.port)}`;
    if (byAddress.has(key)) return key;
    const fwm = marked.filter((s) => s.realServers.some((r) => r.address === c.destination.address));
    return fwm.length === 1 ? describeService(fwm[0]!) : undefined;
  };
}

/** What the page gets from one reading. */
export function panelTable(
  reading: PanelReading,
  history: ConnectionHistory,
  context: { readonly host: string; readonly at: number; readonly hostIps: ReadonlyMap<string, string> },
): IpvsPanelTable {
  const { recent, templates } = history.update(reading.services, reading.connections, reading.timeWaitLeft);
  const nameOf = new Map([...context.hostIps].map(([name, ip]) => [ip, name]));
  const statsOf = statsFinder(reading.stats, reading.services);
  const services: IpvsPanelService[] = reading.services.map((s) => {
    const key = describeService(s);
    const stats = statsOf(s);
    return {
      key,
      protocol: s.protocol,
      scheduler: s.scheduler,
      schedulerFlags: s.schedulerFlags,
      ...(s.persistentSeconds !== undefined && { persistentSeconds: s.persistentSeconds }),
      realServers: s.realServers.map((r) => {
        const counters = stats?.realServers.find((x) => x.address === r.address && x.port === r.port)?.counters;
        const host = nameOf.get(r.address);
        return {
          endpoint: formatEndpoint(r.address, r.port),
          ...(host !== undefined && { host }),
          forward: r.forward,
          weight: r.weight,
          activeConns: r.activeConns,
          inactiveConns: r.inactiveConns,
          ...(counters && { stats: plain(counters) }),
        };
      }),
      ...(stats && { stats: plain(stats.counters) }),
      recent: (recent.get(key) ?? []).map((e) => ({ ...e })),
      templates: templates.get(key) ?? 0,
    };
  });
  return {
    type: 'table',
    host: context.host,
    at: context.at,
    services,
    moreServices: Math.max(0, reading.serviceCount - services.length),
    connectionsTruncated: reading.connectionsTruncated,
  };
}

function plain(c: IpvsPanelCounters): IpvsPanelCounters {
  return { conns: c.conns, inPackets: c.inPackets, outPackets: c.outPackets, inBytes: c.inBytes, outBytes: c.outBytes };
}

/**
 * A service's counters in the `--stats` listing. Both listings sort the same way; a firewall-mark
 * service's line there has no address, so those are matched by their place among the marks.
 */
function statsFinder(stats: readonly ServiceStats[], services: readonly VirtualService[]) {
  const marks = stats.filter((s) => s.protocol === 'FWM');
  const listedMarks = services.filter((s) => s.protocol === 'FWM');
  return (s: VirtualService): ServiceStats | undefined => {
    if (s.protocol !== 'FWM') return stats.find((x) => x.protocol === s.protocol && x.address === s.address && x.port === s.port);
    return marks[listedMarks.indexOf(s)];
  };
}
