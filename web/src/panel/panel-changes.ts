/**
 * What changed between two readings of the IPVS table, and how to say it: the structural changes
 * (counters moving are not changes), the words a screen reader announces and the marks beside
 * what changed, and the model that keeps them for as long as they are shown.
 */
import type { IpvsPanelRealServer, IpvsPanelTable } from '../../../common/api.js';

type Forward = IpvsPanelRealServer['forward'];

/** The forwarding methods as the kernel names them, with the name the labs teach. */
export const FORWARD_TEXT: Readonly<Record<Forward, string>> = {
  Masq: 'Masq (NAT)',
  Route: 'Route (DR)',
  Tunnel: 'Tunnel (IPIP)',
  Local: 'Local',
};

/** Under direct routing and tunnelling the real server answers the client itself: the director never sees a reply. */
export function repliesBypass(forward: Forward): boolean {
  return forward === 'Route' || forward === 'Tunnel';
}

/** How long a change stays highlighted: the colour fades out over this. */
export const FLASH_MS = 3000;
/**
 * How long a change's words stay ("new", "weight 1 → 0"): longer than its colour, so a learner
 * who was typing in the terminal still finds what happened when they look up.
 */
export const MARK_MS = 10_000;
/** Announcing more changes than this at once would drown the learner: the rest are counted. */
export const MAX_ANNOUNCED = 4;

// ---- changes between two readings ----------------------------------------------------------------

/** One structural change between two readings of the table; counters moving are not changes. */
export type PanelChange =
  | { readonly kind: 'service-added'; readonly service: string; readonly scheduler: string; readonly servers: number }
  | { readonly kind: 'service-removed'; readonly service: string }
  | { readonly kind: 'scheduler'; readonly service: string; readonly from: string; readonly to: string }
  | { readonly kind: 'flags'; readonly service: string; readonly from: readonly string[]; readonly to: readonly string[] }
  | { readonly kind: 'persistence'; readonly service: string; readonly from?: number; readonly to?: number }
  | { readonly kind: 'server-added'; readonly service: string; readonly endpoint: string; readonly host?: string; readonly weight: number }
  | { readonly kind: 'server-removed'; readonly service: string; readonly endpoint: string; readonly host?: string }
  | { readonly kind: 'weight'; readonly service: string; readonly endpoint: string; readonly host?: string; readonly from: number; readonly to: number }
  | { readonly kind: 'forward'; readonly service: string; readonly endpoint: string; readonly host?: string; readonly from: Forward; readonly to: Forward };

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
export const withHost = (host: string | undefined) => (host === undefined ? {} : { host });

/**
 * The structural changes from `prev` to `next`, in reading order: the services of `next` (each
 * one's own changes, then its servers'), then the servers and services that went. A new service's
 * servers are not each "new": the whole service is.
 */
export function diffTables(prev: IpvsPanelTable, next: IpvsPanelTable): PanelChange[] {
  const changes: PanelChange[] = [];
  const before = new Map(prev.services.map((s) => [s.key, s]));
  for (const service of next.services) {
    const old = before.get(service.key);
    const key = service.key;
    if (!old) {
      changes.push({ kind: 'service-added', service: key, scheduler: service.scheduler, servers: service.realServers.length });
      continue;
    }
    if (old.scheduler !== service.scheduler) changes.push({ kind: 'scheduler', service: key, from: old.scheduler, to: service.scheduler });
    if (!sameList(old.schedulerFlags, service.schedulerFlags))
      changes.push({ kind: 'flags', service: key, from: old.schedulerFlags, to: service.schedulerFlags });
    if (old.persistentSeconds !== service.persistentSeconds)
      changes.push({
        kind: 'persistence',
        service: key,
        ...(old.persistentSeconds === undefined ? {} : { from: old.persistentSeconds }),
        ...(service.persistentSeconds === undefined ? {} : { to: service.persistentSeconds }),
      });
    const oldServers = new Map(old.realServers.map((r) => [r.endpoint, r]));
    for (const server of service.realServers) {
      const was = oldServers.get(server.endpoint);
      const about = { service: key, endpoint: server.endpoint, ...withHost(server.host) };
      if (!was) changes.push({ kind: 'server-added', ...about, weight: server.weight });
      else {
        if (was.weight !== server.weight) changes.push({ kind: 'weight', ...about, from: was.weight, to: server.weight });
        if (was.forward !== server.forward) changes.push({ kind: 'forward', ...about, from: was.forward, to: server.forward });
      }
    }
    const now = new Set(service.realServers.map((r) => r.endpoint));
    for (const was of old.realServers)
      if (!now.has(was.endpoint)) changes.push({ kind: 'server-removed', service: key, endpoint: was.endpoint, ...withHost(was.host) });
  }
  const after = new Set(next.services.map((s) => s.key));
  for (const old of prev.services) if (!after.has(old.key)) changes.push({ kind: 'service-removed', service: old.key });
  return changes;
}

/** A real server as people say it: `nginx-1 (10.200.0.3:80)`, or the endpoint alone. */
export function serverName(endpoint: string, host: string | undefined): string {
  return host === undefined ? endpoint : `${host} (${endpoint})`;
}

const flagsText = (flags: readonly string[]) => (flags.length === 0 ? 'none' : flags.join(', '));
const persistenceText = (seconds: number | undefined) => (seconds === undefined ? 'not persistent' : `persistent ${seconds} s`);
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** One sentence a screen reader announces for `change`, in words (no arrows). */
export function describeChange(change: PanelChange): string {
  switch (change.kind) {
    case 'service-added':
      return `New service ${change.service}, scheduler ${change.scheduler}, ${plural(change.servers, 'real server')}.`;
    case 'service-removed':
      return `Service ${change.service} removed.`;
    case 'scheduler':
      return `${change.service}: scheduler changed from ${change.from} to ${change.to}.`;
    case 'flags':
      return `${change.service}: scheduler flags changed from ${flagsText(change.from)} to ${flagsText(change.to)}.`;
    case 'persistence':
      return `${change.service}: now ${persistenceText(change.to)}, was ${persistenceText(change.from)}.`;
    case 'server-added':
      return `${change.service}: real server ${serverName(change.endpoint, change.host)} added, weight ${change.weight}${change.weight === 0 ? ' (quiesced)' : ''}.`;
    case 'server-removed':
      return `${change.service}: real server ${serverName(change.endpoint, change.host)} removed.`;
    case 'weight': {
      const why = change.to === 0 ? ', quiesced: no new connections' : change.from === 0 ? ', taking new connections again' : '';
      return `${change.service}: ${serverName(change.endpoint, change.host)} weight changed from ${change.from} to ${change.to}${why}.`;
    }
    case 'forward':
      return `${change.service}: ${serverName(change.endpoint, change.host)} forwarding changed from ${FORWARD_TEXT[change.from]} to ${FORWARD_TEXT[change.to]}.`;
  }
}

/** What the live region says for one batch of changes: the first few in full, the rest counted. */
export function announcement(changes: readonly PanelChange[]): string {
  const said = changes.slice(0, MAX_ANNOUNCED).map(describeChange);
  const rest = changes.length - said.length;
  if (rest > 0) said.push(`And ${plural(rest, 'more change')}.`);
  return said.join(' ');
}

/** The short words that mark a change where it happened ("new", "weight 1 → 0"); the view reads "→" out as "to". */
export function markText(change: PanelChange): string {
  switch (change.kind) {
    case 'service-added':
    case 'server-added':
      return 'new';
    case 'service-removed':
    case 'server-removed':
      return 'removed';
    case 'scheduler':
      return `scheduler ${change.from} → ${change.to}`;
    case 'flags':
      return `flags ${flagsText(change.from)} → ${flagsText(change.to)}`;
    case 'persistence':
      return `${persistenceText(change.from)} → ${persistenceText(change.to)}`;
    case 'weight':
      return `weight ${change.from} → ${change.to}`;
    case 'forward':
      return `${FORWARD_TEXT[change.from]} → ${FORWARD_TEXT[change.to]}`;
  }
}

/** Where a change is shown: its service (caption) or one of its real servers (row). */
function targetOf(change: PanelChange): { readonly service: string; readonly endpoint?: string } {
  return 'endpoint' in change ? { service: change.service, endpoint: change.endpoint } : { service: change.service };
}

/** Changes of one slot replace each other: a newer weight change makes the older one's words wrong. */
function slotOf(change: PanelChange): string {
  const { service, endpoint } = targetOf(change);
  const group = change.kind.endsWith('-added') || change.kind.endsWith('-removed') ? 'presence' : change.kind;
  return `${service}\n${endpoint ?? ''}\n${group}`;
}

export interface TimedChange {
  readonly change: PanelChange;
  /** When the page saw it (the page's clock, ms). */
  readonly at: number;
}

/**
 * What the panel remembers between readings: the last table, the changes still marked (each for
 * `MARK_MS`), and the host names seen for each endpoint, so a server that left the table still has
 * a name in the connections it served. Time comes in as `now`, so tests control it.
 */
export class PanelModel {
  private last: IpvsPanelTable | undefined;
  private marked: TimedChange[] = [];
  private readonly hosts = new Map<string, string>();

  get table(): IpvsPanelTable | undefined {
    return this.last;
  }

  /** The name the endpoint's session host was last seen with. */
  hostOf(endpoint: string): string | undefined {
    return this.hosts.get(endpoint);
  }

  /** Takes a new reading; returns what changed since the last one (nothing for the first). */
  apply(table: IpvsPanelTable, now: number): PanelChange[] {
    const changes = this.last ? diffTables(this.last, table) : [];
    this.last = table;
    for (const service of table.services) for (const r of service.realServers) if (r.host !== undefined) this.hosts.set(r.endpoint, r.host);
    this.prune(now);
    for (const change of changes) this.mark(change, now);
    return changes;
  }

  /** Forgets everything: a reopened panel starts without "just changed" marks from long ago. */
  reset(): void {
    this.last = undefined;
    this.marked = [];
  }

  /** The changes still marked at `now`, oldest first. */
  active(now: number): readonly TimedChange[] {
    return this.marked.filter((m) => now - m.at < MARK_MS);
  }

  /** When the panel next looks different without a new reading (a highlight ends, words go); undefined: never. */
  nextExpiry(now: number): number | undefined {
    const ends = this.marked.flatMap((m) => [m.at + FLASH_MS, m.at + MARK_MS]).filter((t) => t > now);
    return ends.length === 0 ? undefined : Math.min(...ends);
  }

  private prune(now: number): void {
    this.marked = this.active(now).slice();
  }

  private mark(change: PanelChange, at: number): void {
    const slot = slotOf(change);
    const { service, endpoint } = targetOf(change);
    this.marked = this.marked.filter((m) => {
      if (slotOf(m.change) === slot) return false;
      const t = targetOf(m.change);
      // A service that comes or goes takes its servers' marks with it; a server, its own.
      if (endpoint === undefined && (change.kind === 'service-added' || change.kind === 'service-removed')) return t.service !== service;
      if (change.kind === 'server-removed' || change.kind === 'server-added') return !(t.service === service && t.endpoint === endpoint);
      return true;
    });
    this.marked.push({ change, at });
  }
}
