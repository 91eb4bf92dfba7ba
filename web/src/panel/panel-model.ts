/**
 * What the live IPVS panel shows, worked out without the DOM: which colour and short label each
 * backend gets, each backend's share of the recent connections, every text of the panel, and
 * whether an event that arrives has the shape of one. What changed between two readings is
 * panel-changes.ts; panel-view.ts only turns a `PanelView` into elements.
 */
import type { IpvsPanelCounters, IpvsPanelEvent, IpvsPanelRealServer, IpvsPanelService, IpvsPanelTable, IpvsPanelUnavailable } from '../../../common/api.js';
import { FLASH_MS, FORWARD_TEXT, markText, plural, repliesBypass, serverName, withHost, type PanelChange, type TimedChange } from './panel-changes.js';

/** Colours the panel tells backends apart by; more backends reuse them (their labels still differ). */
export const PALETTE_SIZE = 8;
/** Longest short label a strip cell has room for; longer ones become numbers. */
export const MAX_LABEL_LENGTH = 3;

// ---- backends: order, colour, label ---------------------------------------------------------------

/** Endpoints in address order, numbers compared as numbers (10.200.0.3 before 10.200.0.10). */
const endpointOrder = new Intl.Collator('en', { numeric: true });
export const compareEndpoints = (a: string, b: string): number => endpointOrder.compare(a, b);

export interface Backend {
  readonly endpoint: string;
  readonly host?: string;
  /** The host's name, or the endpoint when the address is no session host's. */
  readonly name: string;
  /** What a strip cell shows: a host name's distinguishing part (`1` of `nginx-1`), or a number. */
  readonly label: string;
  /** Index into the palette, 0 to PALETTE_SIZE - 1. */
  readonly colour: number;
  /** False for a server that left the table but still served some of the recent connections. */
  readonly current: boolean;
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/**
 * Short labels for backends named `names` (undefined: no name), in the same order: what tells the
 * names apart once their common start and end are cut (`nginx-1`, `nginx-2` → `1`, `2`), when
 * that is short, unique and never empty; otherwise `1`, `2`, `3`…
 */
export function shortLabels(names: readonly (string | undefined)[]): string[] {
  const numbers = names.map((_, i) => String(i + 1));
  if (names.length === 0 || names.some((n) => n === undefined)) return numbers;
  const all = names as readonly string[];
  if (all.length === 1) return all[0]!.length <= MAX_LABEL_LENGTH ? [all[0]!] : numbers;
  let start = 0;
  while (all.every((n) => start < n.length && n[start] === all[0]![start])) start++;
  // Never cut into a number: nginx-1 and nginx-10 are 1 and 10, not "" and 0.
  while (start > 0 && isDigit(all[0]![start - 1]) && all.some((n) => isDigit(n[start]))) start--;
  let end = 0;
  while (all.every((n) => end < n.length - start && n[n.length - 1 - end] === all[0]![all[0]!.length - 1 - end])) end++;
  while (end > 0 && all.some((n) => isDigit(n[n.length - end]) && isDigit(n[n.length - 1 - end]))) end--;
  const labels = all.map((n) => n.slice(start, n.length - end));
  const fits = labels.every((l) => l.length > 0 && l.length <= MAX_LABEL_LENGTH) && new Set(labels).size === labels.length;
  return fits ? labels : numbers;
}

/**
 * The backends of a service, each with a colour and a label that depend only on the service's
 * real servers sorted by address (so a reading that only moves counters changes nothing), then
 * the servers that left the table but still served some of the recent connections.
 * `hostOf` names those (the model remembers hosts seen earlier).
 */
export function backendsOf(service: IpvsPanelService, hostOf: (endpoint: string) => string | undefined = () => undefined): Backend[] {
  const current = service.realServers.map((r) => ({ endpoint: r.endpoint, host: r.host, current: true }));
  const known = new Set(current.map((b) => b.endpoint));
  const gone = [...new Set(service.recent.map((c) => c.server).filter((e) => !known.has(e)))].map((endpoint) => ({
    endpoint,
    host: hostOf(endpoint),
    current: false,
  }));
  const ordered = [...current.sort((a, b) => compareEndpoints(a.endpoint, b.endpoint)), ...gone.sort((a, b) => compareEndpoints(a.endpoint, b.endpoint))];
  const labels = shortLabels(ordered.map((b) => b.host));
  return ordered.map((b, i) => ({
    endpoint: b.endpoint,
    ...withHost(b.host),
    name: b.host ?? b.endpoint,
    label: labels[i]!,
    colour: i % PALETTE_SIZE,
    current: b.current,
  }));
}

export interface Share {
  readonly backend: Backend;
  readonly count: number;
  /** Rounded to a whole percent. */
  readonly percent: number;
  /** `nginx-1 5 of 10 (50%)`. */
  readonly text: string;
}

/** Each backend's part of the service's recent connections, in backend order; current backends even with none. */
export function sharesOf(service: IpvsPanelService, backends: readonly Backend[]): Share[] {
  const total = service.recent.length;
  const counts = new Map<string, number>();
  for (const c of service.recent) counts.set(c.server, (counts.get(c.server) ?? 0) + 1);
  return backends
    .filter((b) => b.current || counts.has(b.endpoint))
    .map((backend) => {
      const count = counts.get(backend.endpoint) ?? 0;
      const percent = total === 0 ? 0 : Math.round((100 * count) / total);
      return { backend, count, percent, text: `${backend.name} ${count} of ${total} (${percent}%)` };
    });
}

// ---- the whole panel, as texts ----------------------------------------------------------------------

const counts = new Intl.NumberFormat('en-US');
/** A counter as the panel prints it: `12,345`. */
export const formatCount = (n: number): string => counts.format(n);

/** The time of the panel's last change, as its status line prints it. */
export { clockSeconds } from '../dom.js';

/** A change marked on something: its words, and since when it is highlighted (while it still is). */
export interface Marks {
  readonly texts: readonly string[];
  /** When the newest change still highlighted happened; undefined: nothing highlighted. */
  readonly flashSince?: number;
}

export interface ServerRow {
  readonly endpoint: string;
  readonly backend: Backend;
  readonly forward: string;
  readonly weight: number;
  /** Weight 0: the scheduler sends it no new connections. */
  readonly quiesced: boolean;
  readonly active: number;
  readonly inactive: number;
  /** Undefined when the counters were not read. */
  readonly stats?: IpvsPanelCounters;
  /** Its replies go straight to the client: OutPkts stays 0, and the panel says why. */
  readonly bypass: boolean;
  /** The row's highlight, and the words of its arrival (`texts`); a weight or forwarding change has its words by its value. */
  readonly marks: Marks & { readonly weight: readonly string[]; readonly forward: readonly string[] };
}

export interface StripCell {
  readonly backend: Backend;
  /** Client, server and state, for the cell's tooltip. */
  readonly title: string;
}

export interface ServiceView {
  readonly key: string;
  /** The caption after the key: `scheduler rr`, `flags sh-port`, `persistent 300 s`, `3 templates`. */
  readonly details: readonly string[];
  readonly marks: Marks;
  readonly rows: readonly ServerRow[];
  readonly totals: {
    readonly active: number;
    readonly inactive: number;
    readonly stats?: IpvsPanelCounters;
    /** Every real server bypasses the director on the way back. */
    readonly bypass: boolean;
  };
  /** Real servers that just left, as `nginx-2 (10.200.0.4:80)`, and since when (for the highlight). */
  readonly removed: readonly { readonly name: string; readonly marks: Marks }[];
  readonly backends: readonly Backend[];
  readonly strip: readonly StripCell[];
  /** `Last 10 connections, oldest first`: the strip's accessible name. */
  readonly stripLabel: string;
  readonly shares: readonly Share[];
}

export interface PanelView {
  readonly host: string;
  readonly services: readonly ServiceView[];
  /** What to type when there is no service yet. */
  readonly emptyCommand: string;
  /** Services that just went, by key. */
  readonly removedServices: readonly { readonly key: string; readonly marks: Marks }[];
  /** `and 2 more services not shown`, when the server left some out. */
  readonly more?: string;
  /** Why the connection strips may miss connections, when they may. */
  readonly truncated?: string;
}

function marksOf(changes: readonly TimedChange[], now: number): Marks {
  const flashing = changes.filter((c) => now - c.at < FLASH_MS).map((c) => c.at);
  const texts = changes.map((c) => markText(c.change));
  return flashing.length === 0 ? { texts } : { texts, flashSince: Math.max(...flashing) };
}

function rowMarks(changes: readonly TimedChange[], now: number): ServerRow['marks'] {
  const words = (kind: PanelChange['kind']) => changes.filter((c) => c.change.kind === kind).map((c) => markText(c.change));
  const { flashSince } = marksOf(changes, now);
  return { texts: words('server-added'), weight: words('weight'), forward: words('forward'), ...(flashSince === undefined ? {} : { flashSince }) };
}

/** The caption's details of a service, after its key. */
export function serviceDetails(service: IpvsPanelService): string[] {
  const details = [`scheduler ${service.scheduler}`];
  if (service.schedulerFlags.length > 0) details.push(`flags ${service.schedulerFlags.join(', ')}`);
  if (service.persistentSeconds !== undefined) details.push(`persistent ${service.persistentSeconds} s`);
  if (service.templates > 0) details.push(plural(service.templates, 'template'));
  return details;
}

/** The accessible name of a service's strip of recent connections. */
export function stripLabel(n: number): string {
  return `Last ${plural(n, 'connection')}, oldest first`;
}

function serviceView(service: IpvsPanelService, changes: readonly TimedChange[], now: number, hostOf: (endpoint: string) => string | undefined): ServiceView {
  const mine = changes.filter((c) => c.change.service === service.key);
  const backends = backendsOf(service, hostOf);
  const byEndpoint = new Map(backends.map((b) => [b.endpoint, b]));
  const rows = [...service.realServers]
    .sort((a, b) => compareEndpoints(a.endpoint, b.endpoint))
    .map((r): ServerRow => ({
      endpoint: r.endpoint,
      backend: byEndpoint.get(r.endpoint)!,
      forward: FORWARD_TEXT[r.forward],
      weight: r.weight,
      quiesced: r.weight === 0,
      active: r.activeConns,
      inactive: r.inactiveConns,
      ...(r.stats ? { stats: r.stats } : {}),
      bypass: repliesBypass(r.forward),
      marks: rowMarks(
        mine.filter((c) => 'endpoint' in c.change && c.change.endpoint === r.endpoint && c.change.kind !== 'server-removed'),
        now,
      ),
    }));
  const removed = mine.flatMap((c) =>
    c.change.kind === 'server-removed' ? [{ name: serverName(c.change.endpoint, c.change.host), marks: marksOf([c], now) }] : [],
  );
  const sum = (pick: (r: IpvsPanelRealServer) => number) => service.realServers.reduce((n, r) => n + pick(r), 0);
  return {
    key: service.key,
    details: serviceDetails(service),
    marks: marksOf(
      mine.filter((c) => !('endpoint' in c.change)),
      now,
    ),
    rows,
    totals: {
      active: sum((r) => r.activeConns),
      inactive: sum((r) => r.inactiveConns),
      ...(service.stats ? { stats: service.stats } : {}),
      bypass: service.realServers.length > 0 && service.realServers.every((r) => repliesBypass(r.forward)),
    },
    removed,
    backends,
    strip: service.recent.map((c) => {
      const backend = byEndpoint.get(c.server)!;
      return { backend, title: `client ${c.client} → ${serverName(c.server, backend.host)}, ${c.state}` };
    }),
    stripLabel: stripLabel(service.recent.length),
    shares: sharesOf(service, backends),
  };
}

export interface PanelViewOptions {
  /** The changes still marked (`PanelModel.active(now)`). */
  readonly changes: readonly TimedChange[];
  readonly now: number;
  /** Names endpoints that left the table (`PanelModel.hostOf`). */
  readonly hostOf?: (endpoint: string) => string | undefined;
  /** The lab's virtual IP, when it has a `vip` variable: the empty table's hint can then be typed as it is. */
  readonly vip?: string;
}

/** The command the empty table suggests. */
export function emptyCommand(vip: string | undefined): string {
  return `ipvsadm -A -t ${vip ?? '<VIP>'}:80 -s rr`;
}

/** Everything the panel shows for `table`, with the changes still marked at `now`. */
export function panelView(table: IpvsPanelTable, { changes, now, hostOf = () => undefined, vip }: PanelViewOptions): PanelView {
  const removedServices = changes.flatMap((c) => (c.change.kind === 'service-removed' ? [{ key: c.change.service, marks: marksOf([c], now) }] : []));
  return {
    host: table.host,
    services: table.services.map((s) => serviceView(s, changes, now, hostOf)),
    emptyCommand: emptyCommand(vip),
    removedServices,
    ...(table.moreServices > 0 ? { more: `and ${plural(table.moreServices, 'more service')} not shown` } : {}),
    ...(table.connectionsTruncated
      ? {
          truncated: 'The connection table is too long to follow completely: the recent connections above miss some, so their shares are approximate.',
        }
      : {}),
  };
}

// ---- checking what arrives -------------------------------------------------------------------------

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isString = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isArrayOf = <T>(v: unknown, item: (x: unknown) => x is T): v is T[] => Array.isArray(v) && v.every(item);

function isCounters(v: unknown): v is IpvsPanelCounters {
  return isObject(v) && ['conns', 'inPackets', 'outPackets', 'inBytes', 'outBytes'].every((k) => isCount(v[k]));
}

function isRealServer(v: unknown): v is IpvsPanelRealServer {
  return (
    isObject(v) &&
    isString(v.endpoint) &&
    (v.host === undefined || isString(v.host)) &&
    isString(v.forward) &&
    v.forward in FORWARD_TEXT &&
    isCount(v.weight) &&
    isCount(v.activeConns) &&
    isCount(v.inactiveConns) &&
    (v.stats === undefined || isCounters(v.stats))
  );
}

function isService(v: unknown): v is IpvsPanelService {
  return (
    isObject(v) &&
    isString(v.key) &&
    isString(v.scheduler) &&
    isArrayOf(v.schedulerFlags, isString) &&
    (v.persistentSeconds === undefined || isCount(v.persistentSeconds)) &&
    isArrayOf(v.realServers, isRealServer) &&
    (v.stats === undefined || isCounters(v.stats)) &&
    isArrayOf(v.recent, (c): c is IpvsPanelService['recent'][number] => isObject(c) && isString(c.server) && isString(c.client) && isString(c.state)) &&
    isCount(v.templates)
  );
}

/**
 * Whether `v` is an event the panel can draw. Its text came from a learner's container through the
 * server: the page checks the shape before it trusts a single field.
 */
export function isIpvsPanelEvent(v: unknown): v is IpvsPanelEvent {
  if (!isObject(v) || !isString(v.host) || !isCount(v.at)) return false;
  if (v.type === 'unavailable') return isString((v as Partial<IpvsPanelUnavailable>).message);
  return v.type === 'table' && isArrayOf(v.services, isService) && isCount(v.moreServices) && typeof v.connectionsTruncated === 'boolean';
}
