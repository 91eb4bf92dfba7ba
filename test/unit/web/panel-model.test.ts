/**
 * The live IPVS panel's model (web/src/panel/panel-model.ts): what changed between two readings and
 * how it is said and marked, how long marks last, the backends' order, colours and labels, their
 * shares of the recent connections, the panel's texts, and which events it accepts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IpvsPanelConnection, IpvsPanelCounters, IpvsPanelRealServer, IpvsPanelService, IpvsPanelTable } from '../../../common/api.js';
import {
  announcement,
  describeChange,
  diffTables,
  FLASH_MS,
  MARK_MS,
  markText,
  MAX_ANNOUNCED,
  PanelModel,
  type PanelChange,
} from '../../../web/src/panel/panel-changes.js';
import {
  backendsOf,
  clockSeconds,
  compareEndpoints,
  emptyCommand,
  formatCount,
  isIpvsPanelEvent,
  PALETTE_SIZE,
  panelView,
  serviceDetails,
  sharesOf,
  shortLabels,
  stripLabel,
} from '../../../web/src/panel/panel-model.js';

// ---- fixtures: the ipvs-intro lab's table, as the server sends it ---------------------------------

const VIP = 'TCP 10.200.0.2:80';
const NGINX_1 = '10.200.0.3:80';
const NGINX_2 = '10.200.0.4:80';

const counters = (conns: number, inPackets: number, outPackets: number): IpvsPanelCounters => ({
  conns,
  inPackets,
  outPackets,
  inBytes: inPackets * 60,
  outBytes: outPackets * 400,
});

function server(endpoint: string, host: string | undefined, more: Partial<IpvsPanelRealServer> = {}): IpvsPanelRealServer {
  return { endpoint, ...(host === undefined ? {} : { host }), forward: 'Masq', weight: 1, activeConns: 0, inactiveConns: 0, ...more };
}

const conn = (server: string, port: number, state = 'TIME_WAIT'): IpvsPanelConnection => ({ server, client: `10.200.0.9:${port}`, state });

/** `n` connections taken by `servers` in turn, as round robin hands them out. */
const alternating = (servers: readonly string[], n: number) => Array.from({ length: n }, (_, i) => conn(servers[i % servers.length]!, 41000 + i));

function service(more: Partial<IpvsPanelService> = {}): IpvsPanelService {
  return {
    key: VIP,
    protocol: 'TCP',
    scheduler: 'rr',
    schedulerFlags: [],
    realServers: [
      server(NGINX_1, 'nginx-1', { inactiveConns: 5, stats: counters(5, 30, 25) }),
      server(NGINX_2, 'nginx-2', { inactiveConns: 5, stats: counters(5, 30, 25) }),
    ],
    stats: counters(10, 60, 50),
    recent: alternating([NGINX_1, NGINX_2], 10),
    templates: 0,
    ...more,
  };
}

function table(services: readonly IpvsPanelService[], more: Partial<IpvsPanelTable> = {}): IpvsPanelTable {
  return { type: 'table', host: 'host', at: 1_000, services, moreServices: 0, connectionsTruncated: false, ...more };
}

/** The first service's servers with `change` applied to the one at `endpoint`. */
const withServer = (endpoint: string, change: Partial<IpvsPanelRealServer>) =>
  service().realServers.map((r) => (r.endpoint === endpoint ? { ...r, ...change } : r));

// ---- diffing ---------------------------------------------------------------------------------------

describe('diffTables', () => {
  it('finds nothing when only counters and connections moved', () => {
    const busier = service({
      realServers: withServer(NGINX_1, { activeConns: 3, inactiveConns: 9, stats: counters(12, 80, 70) }),
      stats: counters(17, 110, 95),
      recent: alternating([NGINX_2, NGINX_1], 20),
      templates: 4,
    });
    assert.deepEqual(diffTables(table([service()]), table([busier], { at: 2_000, connectionsTruncated: true })), []);
  });

  it('says a new service is new, without calling each of its servers new', () => {
    assert.deepEqual(diffTables(table([]), table([service()])), [{ kind: 'service-added', service: VIP, scheduler: 'rr', servers: 2 }]);
  });

  it('finds servers added, reweighted, quiesced, re-forwarded and removed, in reading order', () => {
    const before = table([service()]);
    const after = table([
      service({
        realServers: [
          server(NGINX_1, 'nginx-1', { weight: 3, forward: 'Route' }),
          server('10.200.0.5:80', undefined, { weight: 2 }),
          // nginx-2 is gone.
        ],
      }),
    ]);
    assert.deepEqual(diffTables(before, after), [
      { kind: 'weight', service: VIP, endpoint: NGINX_1, host: 'nginx-1', from: 1, to: 3 },
      { kind: 'forward', service: VIP, endpoint: NGINX_1, host: 'nginx-1', from: 'Masq', to: 'Route' },
      { kind: 'server-added', service: VIP, endpoint: '10.200.0.5:80', weight: 2 },
      { kind: 'server-removed', service: VIP, endpoint: NGINX_2, host: 'nginx-2' },
    ]);
  });

  it('finds a quiesced server as a weight change to 0', () => {
    const after = table([service({ realServers: withServer(NGINX_2, { weight: 0 }) })]);
    assert.deepEqual(diffTables(table([service()]), after), [{ kind: 'weight', service: VIP, endpoint: NGINX_2, host: 'nginx-2', from: 1, to: 0 }]);
  });

  it("finds a service's scheduler, flags and persistence changing, and a service going", () => {
    const other = service({ key: 'UDP 10.200.0.2:53' });
    const before = table([service(), other]);
    const after = table([service({ scheduler: 'sh', schedulerFlags: ['sh-port'], persistentSeconds: 300 })]);
    assert.deepEqual(diffTables(before, after), [
      { kind: 'scheduler', service: VIP, from: 'rr', to: 'sh' },
      { kind: 'flags', service: VIP, from: [], to: ['sh-port'] },
      { kind: 'persistence', service: VIP, to: 300 },
      { kind: 'service-removed', service: 'UDP 10.200.0.2:53' },
    ]);
  });
});

describe('describeChange, announcement and markText', () => {
  const quiesce: PanelChange = { kind: 'weight', service: VIP, endpoint: NGINX_2, host: 'nginx-2', from: 1, to: 0 };

  it('says each change in words, naming the service, server and values', () => {
    assert.equal(describeChange(quiesce), 'TCP 10.200.0.2:80: nginx-2 (10.200.0.4:80) weight changed from 1 to 0, quiesced: no new connections.');
    assert.equal(
      describeChange({ ...quiesce, from: 0, to: 1 }),
      'TCP 10.200.0.2:80: nginx-2 (10.200.0.4:80) weight changed from 0 to 1, taking new connections again.',
    );
    assert.equal(describeChange({ kind: 'scheduler', service: VIP, from: 'rr', to: 'wrr' }), 'TCP 10.200.0.2:80: scheduler changed from rr to wrr.');
    assert.equal(
      describeChange({ kind: 'service-added', service: VIP, scheduler: 'rr', servers: 1 }),
      'New service TCP 10.200.0.2:80, scheduler rr, 1 real server.',
    );
    assert.equal(
      describeChange({ kind: 'server-added', service: VIP, endpoint: '10.200.0.5:80', weight: 0 }),
      'TCP 10.200.0.2:80: real server 10.200.0.5:80 added, weight 0 (quiesced).',
    );
    assert.equal(
      describeChange({ kind: 'forward', service: VIP, endpoint: NGINX_1, from: 'Masq', to: 'Tunnel' }),
      'TCP 10.200.0.2:80: 10.200.0.3:80 forwarding changed from Masq (NAT) to Tunnel (IPIP).',
    );
    assert.equal(describeChange({ kind: 'persistence', service: VIP, from: 300 }), 'TCP 10.200.0.2:80: now not persistent, was persistent 300 s.');
  });

  it('announces the first few changes and counts the rest', () => {
    const many: PanelChange[] = Array.from({ length: MAX_ANNOUNCED + 2 }, (_, i) => ({
      kind: 'server-added',
      service: VIP,
      endpoint: `10.200.0.${10 + i}:80`,
      weight: 1,
    }));
    const said = announcement(many);
    assert.match(said, /10\.200\.0\.10:80 added/);
    assert.doesNotMatch(said, new RegExp(`10\\.200\\.0\\.${10 + MAX_ANNOUNCED}:80`));
    assert.match(said, /And 2 more changes\.$/);
    assert.equal(announcement([quiesce]), describeChange(quiesce));
  });

  it('marks changes in a few words, with the values', () => {
    assert.equal(markText(quiesce), 'weight 1 → 0');
    assert.equal(markText({ kind: 'server-added', service: VIP, endpoint: NGINX_1, weight: 1 }), 'new');
    assert.equal(markText({ kind: 'scheduler', service: VIP, from: 'rr', to: 'wrr' }), 'scheduler rr → wrr');
    assert.equal(markText({ kind: 'forward', service: VIP, endpoint: NGINX_1, from: 'Masq', to: 'Route' }), 'Masq (NAT) → Route (DR)');
  });
});

// ---- what stays marked, and for how long -------------------------------------------------------------

describe('PanelModel', () => {
  const quiesced = table([service({ realServers: withServer(NGINX_2, { weight: 0 }) })]);

  it('marks nothing on the first reading: nothing "just" changed', () => {
    const model = new PanelModel();
    assert.deepEqual(model.apply(table([service()]), 0), []);
    assert.deepEqual(model.active(0), []);
    assert.equal(model.nextExpiry(0), undefined);
  });

  it('keeps a change highlighted for FLASH_MS and in words for MARK_MS', () => {
    const model = new PanelModel();
    model.apply(table([service()]), 0);
    assert.equal(model.apply(quiesced, 100).length, 1);
    const rowAt = (now: number) => panelView(model.table!, { changes: model.active(now), now }).services[0]!.rows[1]!;
    assert.deepEqual(rowAt(100).marks, { texts: [], weight: ['weight 1 → 0'], forward: [], flashSince: 100 });
    assert.equal(model.nextExpiry(100), 100 + FLASH_MS);
    assert.deepEqual(rowAt(100 + FLASH_MS).marks, { texts: [], weight: ['weight 1 → 0'], forward: [] });
    assert.equal(model.nextExpiry(100 + FLASH_MS), 100 + MARK_MS);
    assert.deepEqual(rowAt(100 + MARK_MS).marks, { texts: [], weight: [], forward: [] });
    assert.equal(model.nextExpiry(100 + MARK_MS), undefined);
  });

  it('keeps only the newest change of a slot: a weight back to 1 replaces the quiescing', () => {
    const model = new PanelModel();
    model.apply(table([service()]), 0);
    model.apply(quiesced, 100);
    model.apply(table([service()]), 200);
    assert.deepEqual(
      model.active(200).map((m) => markText(m.change)),
      ['weight 0 → 1'],
    );
  });

  it('drops the marks of a server that left, and of a service that left', () => {
    const model = new PanelModel();
    model.apply(table([service()]), 0);
    model.apply(quiesced, 100);
    model.apply(table([service({ realServers: [server(NGINX_1, 'nginx-1')] })]), 200);
    assert.deepEqual(
      model.active(200).map((m) => m.change.kind),
      ['server-removed'],
    );
    model.apply(table([]), 300);
    assert.deepEqual(
      model.active(300).map((m) => m.change.kind),
      ['service-removed'],
    );
  });

  it('remembers the host of an endpoint that left the table', () => {
    const model = new PanelModel();
    model.apply(table([service()]), 0);
    model.apply(table([service({ realServers: [server(NGINX_1, 'nginx-1')] })]), 100);
    assert.equal(model.hostOf(NGINX_2), 'nginx-2');
  });

  it('starts over after reset(): the next reading is a first one again', () => {
    const model = new PanelModel();
    model.apply(table([service()]), 0);
    model.reset();
    assert.deepEqual(model.apply(quiesced, 100), []);
    assert.equal(model.table, quiesced);
  });
});

// ---- backends: order, colours, labels, shares ------------------------------------------------------

describe('shortLabels', () => {
  it('keeps what tells the hosts apart, never cutting into a number', () => {
    assert.deepEqual(shortLabels(['nginx-1', 'nginx-2']), ['1', '2']);
    assert.deepEqual(shortLabels(['nginx-1', 'nginx-10', 'nginx-2']), ['1', '10', '2']);
    assert.deepEqual(shortLabels(['nginx-1', 'nginx-10']), ['1', '10']);
    assert.deepEqual(shortLabels(['web1', 'web11']), ['1', '11']);
    assert.deepEqual(shortLabels(['web1.lab', 'web2.lab']), ['1', '2']);
    assert.deepEqual(shortLabels(['rs-a', 'rs-b']), ['a', 'b']);
    assert.deepEqual(shortLabels(['a']), ['a']);
  });

  it('numbers the backends when names are missing, long, empty once cut, or alike', () => {
    assert.deepEqual(shortLabels(['nginx-1', undefined]), ['1', '2']);
    assert.deepEqual(shortLabels(['alpha-server', 'bravo-server-x']), ['1', '2']);
    assert.deepEqual(shortLabels(['backend', 'backend2']), ['1', '2']);
    assert.deepEqual(shortLabels(['nginx-1']), ['1']);
    assert.deepEqual(shortLabels([]), []);
  });
});

describe('backendsOf', () => {
  it('orders by address, numbers as numbers, whatever order the servers came in', () => {
    const s = service({ realServers: [server('10.200.0.10:80', 'nginx-10'), server(NGINX_2, 'nginx-2'), server(NGINX_1, 'nginx-1')], recent: [] });
    assert.deepEqual(
      backendsOf(s).map((b) => [b.endpoint, b.label, b.colour]),
      [
        [NGINX_1, '1', 0],
        [NGINX_2, '2', 1],
        ['10.200.0.10:80', '10', 2],
      ],
    );
    assert.ok(compareEndpoints('10.200.0.3:80', '10.200.0.10:80') < 0);
  });

  it('gives the same colours to the same servers whatever the connections', () => {
    const a = backendsOf(service());
    const b = backendsOf(service({ recent: alternating([NGINX_2], 5) }));
    assert.deepEqual(a, b);
  });

  it('adds servers that left but served recent connections, after the current ones, named when known', () => {
    const s = service({ realServers: [server(NGINX_2, 'nginx-2')], recent: [conn(NGINX_1, 1), conn(NGINX_2, 2)] });
    const backends = backendsOf(s, (e) => (e === NGINX_1 ? 'nginx-1' : undefined));
    assert.deepEqual(
      backends.map((b) => [b.name, b.label, b.colour, b.current]),
      [
        ['nginx-2', '2', 0, true],
        ['nginx-1', '1', 1, false],
      ],
    );
    assert.equal(backendsOf(s)[1]!.name, NGINX_1, 'an unknown host is named by its endpoint');
  });

  it('reuses colours past the palette', () => {
    const many = Array.from({ length: PALETTE_SIZE + 1 }, (_, i) => server(`10.200.1.${i + 1}:80`, undefined));
    const backends = backendsOf(service({ realServers: many, recent: [] }));
    assert.equal(backends[PALETTE_SIZE]!.colour, 0);
    assert.equal(backends[PALETTE_SIZE]!.label, String(PALETTE_SIZE + 1));
  });
});

describe('sharesOf', () => {
  it("counts each backend's recent connections, in backend order, as text", () => {
    const s = service({ recent: [...alternating([NGINX_1, NGINX_2], 9), conn(NGINX_1, 9)] });
    assert.deepEqual(
      sharesOf(s, backendsOf(s)).map((x) => x.text),
      ['nginx-1 6 of 10 (60%)', 'nginx-2 4 of 10 (40%)'],
    );
  });

  it('shows a current server that got none, and rounds to whole percents', () => {
    const s = service({
      realServers: [...service().realServers, server('10.200.0.5:80', 'nginx-3', { weight: 0 })],
      recent: [conn(NGINX_1, 1), conn(NGINX_1, 2), conn(NGINX_2, 3)],
    });
    assert.deepEqual(
      sharesOf(s, backendsOf(s)).map((x) => [x.count, x.percent]),
      [
        [2, 67],
        [1, 33],
        [0, 0],
      ],
    );
  });

  it('shows a server that left only if it served some, and 0% of nothing', () => {
    const s = service({ realServers: [server(NGINX_1, 'nginx-1')], recent: [conn(NGINX_2, 1)] });
    assert.deepEqual(
      sharesOf(s, backendsOf(s)).map((x) => x.text),
      ['nginx-1 0 of 1 (0%)', '10.200.0.4:80 1 of 1 (100%)'],
    );
    const idle = service({ recent: [] });
    assert.deepEqual(
      sharesOf(idle, backendsOf(idle)).map((x) => x.percent),
      [0, 0],
    );
  });
});

// ---- the panel's texts -----------------------------------------------------------------------------

describe('panelView', () => {
  it('says how to make a service when there is none, with the lab VIP when it has one', () => {
    assert.equal(panelView(table([]), { changes: [], now: 0 }).emptyCommand, 'ipvsadm -A -t <VIP>:80 -s rr');
    assert.equal(emptyCommand('10.200.0.2'), 'ipvsadm -A -t 10.200.0.2:80 -s rr');
  });

  it('names the forwarding method, flags quiesced servers and marks bypassed replies', () => {
    const s = service({
      realServers: [server(NGINX_1, 'nginx-1', { forward: 'Route', stats: counters(3, 20, 0) }), server(NGINX_2, 'nginx-2', { forward: 'Masq', weight: 0 })],
    });
    const view = panelView(table([s]), { changes: [], now: 0 }).services[0]!;
    assert.deepEqual(
      view.rows.map((r) => [r.forward, r.quiesced, r.bypass, r.stats?.outPackets]),
      [
        ['Route (DR)', false, true, 0],
        ['Masq (NAT)', true, false, undefined],
      ],
    );
    assert.equal(view.totals.bypass, false, 'one server still sends its replies through the director');
    const allDirect = panelView(table([service({ realServers: [server(NGINX_1, 'nginx-1', { forward: 'Tunnel' })] })]), { changes: [], now: 0 });
    assert.equal(allDirect.services[0]!.totals.bypass, true);
  });

  it('captions a service with its scheduler, flags, persistence and templates', () => {
    assert.deepEqual(serviceDetails(service()), ['scheduler rr']);
    assert.deepEqual(serviceDetails(service({ scheduler: 'sh', schedulerFlags: ['sh-port', 'sh-fallback'], persistentSeconds: 300, templates: 1 })), [
      'scheduler sh',
      'flags sh-port, sh-fallback',
      'persistent 300 s',
      '1 template',
    ]);
  });

  it('lists the recent connections oldest first, each with client, server and state', () => {
    const view = panelView(table([service({ recent: [conn(NGINX_2, 1, 'ESTABLISHED'), conn(NGINX_1, 2)] })]), { changes: [], now: 0 }).services[0]!;
    assert.equal(view.stripLabel, 'Last 2 connections, oldest first');
    assert.deepEqual(
      view.strip.map((c) => [c.backend.label, c.title]),
      [
        ['2', 'client 10.200.0.9:1 → nginx-2 (10.200.0.4:80), ESTABLISHED'],
        ['1', 'client 10.200.0.9:2 → nginx-1 (10.200.0.3:80), TIME_WAIT'],
      ],
    );
    assert.equal(stripLabel(1), 'Last 1 connection, oldest first');
  });

  it('puts each change where it happened: servers in rows, services in captions, departures in notes', () => {
    const model = new PanelModel();
    model.apply(table([service(), service({ key: 'UDP 10.200.0.2:53' })]), 0);
    const servers = [server(NGINX_1, 'nginx-1', { weight: 2, forward: 'Route' }), server('10.200.0.5:80', 'nginx-3')];
    model.apply(table([service({ scheduler: 'wrr', realServers: servers })]), 50);
    const view = panelView(model.table!, { changes: model.active(100), now: 100, hostOf: (e) => model.hostOf(e) });
    const s = view.services[0]!;
    assert.deepEqual(s.marks, { texts: ['scheduler rr → wrr'], flashSince: 50 });
    assert.deepEqual(
      s.rows.map((r) => [r.backend.name, r.marks.texts, r.marks.weight, r.marks.forward, r.marks.flashSince]),
      [
        ['nginx-1', [], ['weight 1 → 2'], ['Masq (NAT) → Route (DR)'], 50],
        ['nginx-3', ['new'], [], [], 50],
      ],
    );
    assert.deepEqual(
      s.removed.map((r) => r.name),
      ['nginx-2 (10.200.0.4:80)'],
    );
    assert.deepEqual(
      view.removedServices.map((r) => r.key),
      ['UDP 10.200.0.2:53'],
    );
  });

  it('says when services are left out and when the connection table was too long', () => {
    const view = panelView(table([service()], { moreServices: 2, connectionsTruncated: true }), { changes: [], now: 0 });
    assert.equal(view.more, 'and 2 more services not shown');
    assert.match(view.truncated ?? '', /too long to follow completely/);
    const plain = panelView(table([service()], { moreServices: 1 }), { changes: [], now: 0 });
    assert.equal(plain.more, 'and 1 more service not shown');
    assert.equal(plain.truncated, undefined);
  });
});

describe('formatCount and clockSeconds', () => {
  it('groups thousands and reads the clock to the second', () => {
    assert.equal(formatCount(1234567), '1,234,567');
    assert.equal(formatCount(0), '0');
    assert.equal(clockSeconds(new Date(2026, 0, 2, 3, 4, 5).getTime()), '03:04:05');
  });
});

// ---- what the page accepts ---------------------------------------------------------------------------

describe('isIpvsPanelEvent', () => {
  it('accepts a table and an unavailable event', () => {
    assert.equal(isIpvsPanelEvent(table([service({ persistentSeconds: 300 })])), true);
    assert.equal(isIpvsPanelEvent(JSON.parse(JSON.stringify(table([service()])))), true);
    assert.equal(isIpvsPanelEvent({ type: 'unavailable', host: 'host', at: 1, message: 'the host is restarting' }), true);
  });

  it('refuses what the panel could not draw', () => {
    const bad = (s: unknown) => isIpvsPanelEvent({ ...table([]), services: [s] });
    assert.equal(isIpvsPanelEvent(null), false);
    assert.equal(isIpvsPanelEvent({ type: 'ended', host: 'host', at: 1 }), false);
    assert.equal(isIpvsPanelEvent({ type: 'unavailable', host: 'host', at: 1 }), false);
    assert.equal(isIpvsPanelEvent({ ...table([]), moreServices: -1 }), false);
    assert.equal(bad({ ...service(), realServers: [{ ...server(NGINX_1, undefined), forward: 'Magic' }] }), false);
    assert.equal(bad({ ...service(), realServers: [{ ...server(NGINX_1, undefined), weight: '1' }] }), false);
    assert.equal(bad({ ...service(), recent: [{ server: NGINX_1, client: 5, state: 'x' }] }), false);
    assert.equal(bad({ ...service(), stats: { conns: 1 } }), false);
    assert.equal(bad({ ...service(), schedulerFlags: 'sh-port' }), false);
  });
});
