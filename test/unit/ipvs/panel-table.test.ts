import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { IPVS_PANEL_RECENT } from '../../../common/api.js';
import { IpvsParseError } from '../../../server/src/ipvs/ipvs-parse-error.js';
import { ConnectionHistory, PANEL_MAX_CONNECTIONS, PANEL_MAX_LINES, panelTable, parsePanelReading } from '../../../server/src/ipvs/panel-table.js';
import { capturedSchedule, kernelFixture } from '../../utils/fixtures.js';

/** What PANEL_SCRIPT prints, put together from real captures of one moment. */
function output(parts: { services: number; list: string; stats: string; conns: string; sockets?: string }): string {
  return [
    '@@ services',
    String(parts.services),
    '@@ list',
    parts.list.trimEnd(),
    '@@ stats',
    parts.stats.trimEnd(),
    '@@ conns',
    parts.conns.trimEnd(),
    '@@ sockets',
    ...(parts.sockets ? [parts.sockets.trimEnd()] : []),
    '',
  ].join('\n');
}

const rrMasq = output({
  services: 1,
  list: kernelFixture('rr-masq.ipvsadm-Ln.txt'),
  stats: kernelFixture('rr-masq.ipvsadm-Ln-exact-stats.txt'),
  conns: kernelFixture('rr-masq.proc-net-ip_vs_conn.txt'),
});
const CONN_HEADER = kernelFixture('rr-masq.proc-net-ip_vs_conn.txt').split('\n')[0]!;
const hostIps = new Map([
  ['host', '172.17.0.2'],
  ['nginx-1', '10.20.0.11'],
  ['nginx-2', '10.20.0.12'],
]);
const context = { host: 'host', at: 1_700_000_000_000, hostIps };

/** A connection line of /proc/net/ip_vs_conn from the director 172.17.0.2 to its VIP, port 80. */
function connLine(clientPort: number, backend: 11 | 12 | 13, expires = 118, state = 'TIME_WAIT'): string {
  const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');
  return `TCP AC110002 ${hex(clientPort, 4)} AC110002 0050 0A1400${hex(backend, 2)} 0050 ${state} ${expires}`;
}

describe('parsePanelReading and panelTable on the rr capture', () => {
  const table = panelTable(parsePanelReading(rrMasq), new ConnectionHistory(), context);
  const [service] = table.services;

  it('lists the service with its scheduler, real servers and their counters', () => {
    assert.equal(table.services.length, 1);
    assert.ok(service);
    assert.equal(service.key, 'TCP 172.17.0.2:80');
    assert.equal(service.scheduler, 'rr');
    assert.deepEqual(
      service.realServers.map((r) => [r.endpoint, r.host, r.forward, r.weight, r.activeConns, r.inactiveConns, r.stats?.conns, r.stats?.outPackets]),
      [
        ['10.20.0.11:80', 'nginx-1', 'Masq', 1, 0, 5, 2, 10],
        ['10.20.0.12:80', 'nginx-2', 'Masq', 1, 0, 5, 3, 15],
      ],
    );
    assert.deepEqual(service.stats, { conns: 5, inPackets: 25, outPackets: 25, inBytes: 1710, outBytes: 2525 });
    assert.equal(table.moreServices, 0);
    assert.equal(table.connectionsTruncated, false);
  });

  it('shows the ten connections in the order the kernel really picked, five each', () => {
    const names = service!.recent.map((c) => [...hostIps].find(([, ip]) => `${ip}:80` === c.server)?.[0]);
    assert.deepEqual(names, capturedSchedule('rr'));
    assert.equal(service!.recent.filter((c) => c.server === '10.20.0.11:80').length, 5);
    assert.ok(service!.recent.every((c) => c.state === 'TIME_WAIT' && c.client.startsWith('172.17.0.2:')));
  });
});

describe('ConnectionHistory across readings', () => {
  const list = kernelFixture('rr-masq.ipvsadm-Ln.txt');
  const stats = kernelFixture('rr-masq.ipvsadm-Ln-exact-stats.txt');
  const read = (history: ConnectionHistory, conns: string[], services = 1, listing = list) =>
    panelTable(parsePanelReading(output({ services, list: listing, stats, conns: [CONN_HEADER, ...conns].join('\n') })), history, context).services[0];

  it('appends only new connections, keeps those the table forgot, and follows their state', () => {
    const history = new ConnectionHistory();
    read(history, [connLine(40_002, 12, 890, 'ESTABLISHED'), connLine(40_000, 11, 890, 'ESTABLISHED')]);
    // A second later: the first two closed, and the first has left the table already.
    const after = read(history, [connLine(40_002, 12, 119), connLine(40_006, 12, 119), connLine(40_004, 11, 119)]);
    assert.deepEqual(
      after?.recent.map((c) => [c.client, c.server, c.state]),
      [
        ['172.17.0.2:40000', '10.20.0.11:80', 'ESTABLISHED'],
        ['172.17.0.2:40002', '10.20.0.12:80', 'TIME_WAIT'],
        ['172.17.0.2:40004', '10.20.0.11:80', 'TIME_WAIT'],
        ['172.17.0.2:40006', '10.20.0.12:80', 'TIME_WAIT'],
      ],
    );
  });

  it(`keeps the last ${IPVS_PANEL_RECENT} connections of a service`, () => {
    const history = new ConnectionHistory();
    const lines = Array.from({ length: IPVS_PANEL_RECENT + 5 }, (_, i) => connLine(41_000 + 2 * i, i % 2 ? 11 : 12));
    const service = read(history, lines);
    assert.equal(service?.recent.length, IPVS_PANEL_RECENT);
    assert.equal(service?.recent[0]?.client, `172.17.0.2:${41_000 + 2 * 5}`);
    assert.equal(service?.recent.at(-1)?.client, `172.17.0.2:${41_000 + 2 * (IPVS_PANEL_RECENT + 4)}`);
  });

  it('forgets the history of a service that was removed, and counts persistence templates apart', () => {
    const history = new ConnectionHistory();
    read(history, [connLine(42_000, 11)]);
    const emptyList = list.split('\n').slice(0, 3).join('\n');
    assert.equal(read(history, [], 0, emptyList), undefined);
    const template = 'TCP AC110002 0000 AC110002 0050 0A14000B 0050 NONE 290';
    const again = read(history, [connLine(42_000, 11), template]);
    assert.deepEqual(
      again?.recent.map((c) => c.client),
      ['172.17.0.2:42000'],
    );
    assert.equal(again?.templates, 1);
  });

  it('counts a connection once when a reading skips it or lists it twice', () => {
    // The kernel prints the table a page at a time while it changes. On the VM, a benchmark round
    // with some 250 connections in the table (old ones expiring) showed one connection twice.
    const history = new ConnectionHistory();
    const [a, b, c, d] = [connLine(43_000, 12, 119), connLine(43_002, 11, 119), connLine(43_004, 12, 119), connLine(43_006, 11, 119)];
    read(history, [a, b]);
    read(history, [b, c, c]);
    read(history, [a, b, c]);
    const after = read(history, [a, b, c, d]);
    assert.deepEqual(
      after?.recent.map((x) => x.client.split(':')[1]),
      ['43000', '43002', '43004', '43006'],
    );
  });

  it('leaves out connections of services it does not list', () => {
    const other = 'TCP AC110002 A000 AC110003 0050 0A14000B 0050 TIME_WAIT 100';
    assert.deepEqual(read(new ConnectionHistory(), [other])?.recent, []);
  });
});

describe("the reading's TIME_WAIT clock", () => {
  it('reads the sockets section and orders connections of one second by it', () => {
    // Four connections of one second, two runs of ports ten seconds' shuffle apart (47xxx after
    // 53xxx), told apart only by the client sockets' time left: the 53xxx ones closed first.
    const conns = [CONN_HEADER, connLine(47_594, 11, 119), connLine(47_596, 12, 119), connLine(53_554, 12, 119), connLine(53_558, 11, 119)].join('\n');
    const socket = (port: number, left: number) =>
      `   1: 020011AC:${port.toString(16).toUpperCase()} 020011AC:0050 06 00000000:00000000 03:${left.toString(16).toUpperCase().padStart(8, '0')} 00000000     0        0 0 3 0000000037886276`;
    const parts = { services: 1, list: kernelFixture('rr-masq.ipvsadm-Ln.txt'), stats: kernelFixture('rr-masq.ipvsadm-Ln-exact-stats.txt'), conns };
    const sockets = [socket(47_594, 5_960), socket(47_596, 5_975), socket(53_554, 5_910), socket(53_558, 5_930)].join('\n');
    const reading = parsePanelReading(output({ ...parts, sockets }));
    assert.equal(reading.timeWaitLeft.get('172.17.0.2:53554>172.17.0.2:80'), 5_910);
    const recent = panelTable(reading, new ConnectionHistory(), context).services[0]?.recent.map((c) => c.client.split(':')[1]);
    assert.deepEqual(recent, ['53554', '53558', '47594', '47596']);
    // Without the clock the same second is a guess (lowest port first), which here is wrong.
    const guessed = panelTable(parsePanelReading(output(parts)), new ConnectionHistory(), context).services[0]?.recent.map((c) => c.client.split(':')[1]);
    assert.deepEqual(guessed, ['47594', '47596', '53554', '53558']);
  });
});

describe('parsePanelReading on the mixed capture', () => {
  const table = panelTable(
    parsePanelReading(
      output({
        services: 6,
        list: kernelFixture('mixed.ipvsadm-Ln.txt'),
        stats: kernelFixture('mixed.ipvsadm-Ln-stats.txt'),
        conns: CONN_HEADER,
      }),
    ),
    new ConnectionHistory(),
    context,
  );

  it('keeps flags, persistence, forwarding methods, IPv6 and firewall marks', () => {
    assert.deepEqual(
      table.services.map((s) => s.key),
      ['TCP 172.17.0.2:80', 'TCP 172.17.0.2:443', 'TCP 172.17.0.2:8080', 'UDP 172.17.0.2:53', 'TCP [::1]:80', 'FWM 7'],
    );
    const sh = table.services[1]!;
    assert.deepEqual([sh.scheduler, sh.schedulerFlags, sh.persistentSeconds], ['sh', ['sh-fallback', 'sh-port'], 300]);
    assert.deepEqual(
      table.services[0]!.realServers.map((r) => [r.forward, r.weight, r.stats?.conns]),
      [
        ['Masq', 2, 6],
        ['Route', 1, 0],
        ['Tunnel', 0, 0],
      ],
    );
    const fwm = table.services[5]!;
    assert.equal(fwm.protocol, 'FWM');
    assert.deepEqual(fwm.stats, { conns: 0, inPackets: 0, outPackets: 0, inBytes: 0, outBytes: 0 });
    assert.equal(fwm.realServers[0]?.endpoint, '10.20.0.11:0');
  });
});

describe('parsePanelReading bounds and errors', () => {
  it('drops the last, possibly cut, service of a listing that reached its line limit, and counts the rest', () => {
    const header = kernelFixture('rr-masq.ipvsadm-Ln.txt').split('\n').slice(0, 3);
    const services = Array.from({ length: PANEL_MAX_LINES }, (_, i) => `TCP  10.1.${i >> 8}.${i & 255}:80 rr`);
    const list = [...header, ...services].slice(0, PANEL_MAX_LINES).join('\n');
    const reading = parsePanelReading(output({ services: 5000, list, stats: kernelFixture('rr-masq.ipvsadm-Ln-exact-stats.txt'), conns: CONN_HEADER }));
    assert.equal(reading.services.length, PANEL_MAX_LINES - 3 - 1);
    const table = panelTable(reading, new ConnectionHistory(), context);
    assert.equal(table.moreServices, 5000 - (PANEL_MAX_LINES - 4));
    assert.equal(table.services[0]?.stats, undefined);
  });

  it('says when the connection table was longer than it reads', () => {
    const conns = [CONN_HEADER, ...Array.from({ length: PANEL_MAX_CONNECTIONS }, (_, i) => connLine(32_768 + i, 11))].join('\n');
    const reading = parsePanelReading(
      output({ services: 1, list: kernelFixture('rr-masq.ipvsadm-Ln.txt'), stats: '', conns }).replace(
        '@@ stats\n',
        '@@ stats\n' + kernelFixture('rr-masq.ipvsadm-Ln-exact-stats.txt'),
      ),
    );
    assert.equal(reading.connectionsTruncated, true);
    assert.equal(reading.connections.length, PANEL_MAX_CONNECTIONS);
  });

  it('names the line of the whole reading where ipvsadm printed an error instead of a listing', () => {
    const text = output({ services: 1, list: "Can't initialize ipvs: Protocol not available", stats: '', conns: CONN_HEADER });
    assert.throws(
      () => parsePanelReading(text),
      (e: unknown) => e instanceof IpvsParseError && e.line === 4 && e.text.startsWith("Can't initialize ipvs"),
    );
  });

  it('refuses a reading without its sections', () => {
    assert.throws(() => parsePanelReading('hello'), /no "@@ services" section/);
  });
});
