import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { IpvsParseError } from '../../../server/src/ipvs/ipvs-parse-error.js';
import type { IpvsTable } from '../../../server/src/ipvs/ipvs-table.js';
import { parseProcNetIpVs } from '../../../server/src/ipvs/parse-proc-net-ip-vs.js';
import { fixture, kernelFixture } from '../../utils/fixtures.js';

const HEADER = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port Scheduler Flags',
  '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn',
].join('\n');

function parseError(text: string): IpvsParseError {
  try {
    parseProcNetIpVs(text);
  } catch (error) {
    assert.ok(error instanceof IpvsParseError, `expected an IpvsParseError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected parseProcNetIpVs to throw on ${JSON.stringify(text)}`);
}

describe('parseProcNetIpVs on real kernel 6.1 output', () => {
  it('reads an empty table', () => {
    assert.deepEqual(parseProcNetIpVs(kernelFixture('empty.proc-net-ip_vs.txt')), { services: [] });
  });

  it('reads rr with two masq backends, newest real server first', () => {
    const table = parseProcNetIpVs(kernelFixture('rr-masq.proc-net-ip_vs.txt'));
    assert.deepEqual(table, {
      services: [
        {
          protocol: 'TCP',
          address: '172.17.0.2',
          port: 80,
          scheduler: 'rr',
          schedulerFlags: [],
          realServers: [
            { address: '10.20.0.12', port: 80, forward: 'Masq', weight: 1, activeConns: 0, inactiveConns: 5 },
            { address: '10.20.0.11', port: 80, forward: 'Masq', weight: 1, activeConns: 0, inactiveConns: 5 },
          ],
        },
      ],
    } satisfies IpvsTable);
  });

  it('reads two rr services', () => {
    const table = parseProcNetIpVs(fixture('two-services-rr-masq.proc-net-ip_vs.txt'));
    assert.deepEqual(
      table.services.map((s) => [s.address, s.port, s.scheduler]),
      [
        ['10.0.2.15', 80, 'rr'],
        ['10.96.0.10', 80, 'rr'],
      ],
    );
    assert.deepEqual(
      table.services.map((s) => s.realServers.map((r) => `${r.address}:${r.port} ${r.inactiveConns}`)),
      [
        ['10.10.0.12:80 0', '10.10.0.11:80 0'],
        ['10.10.0.12:80 7', '10.10.0.11:80 7'],
      ],
    );
  });

  it('reads the mixed table: forwarding methods, UDP, FWM, IPv6, persistence, in kernel order', () => {
    const table = parseProcNetIpVs(kernelFixture('mixed.proc-net-ip_vs.txt'));
    assert.deepEqual(table, {
      services: [
        {
          protocol: 'TCP',
          address: '172.17.0.2',
          port: 443,
          scheduler: 'sh',
          // `-b sh-fallback,sh-port` was set, but /proc/net/ip_vs never prints scheduler flags.
          schedulerFlags: [],
          // Printed as `persistent 75000`: jiffies at the kernel's HZ of 250.
          persistentSeconds: 300,
          realServers: [{ address: '10.20.0.12', port: 443, forward: 'Masq', weight: 1, activeConns: 0, inactiveConns: 0 }],
        },
        { protocol: 'TCP', address: '172.17.0.2', port: 8080, scheduler: 'mh', schedulerFlags: [], realServers: [] },
        {
          protocol: 'TCP',
          address: '172.17.0.2',
          port: 80,
          scheduler: 'rr',
          schedulerFlags: [],
          realServers: [
            { address: '10.20.0.13', port: 80, forward: 'Tunnel', weight: 0, activeConns: 0, inactiveConns: 24 },
            { address: '10.20.0.12', port: 80, forward: 'Route', weight: 1, activeConns: 0, inactiveConns: 38 },
            { address: '10.20.0.11', port: 80, forward: 'Masq', weight: 2, activeConns: 0, inactiveConns: 110 },
          ],
        },
        {
          protocol: 'TCP',
          address: '::1',
          port: 80,
          scheduler: 'rr',
          schedulerFlags: [],
          realServers: [{ address: '::2', port: 80, forward: 'Masq', weight: 1, activeConns: 0, inactiveConns: 0 }],
        },
        {
          protocol: 'UDP',
          address: '172.17.0.2',
          port: 53,
          scheduler: 'lc',
          schedulerFlags: [],
          realServers: [{ address: '10.20.0.11', port: 53, forward: 'Masq', weight: 1, activeConns: 0, inactiveConns: 0 }],
        },
        {
          protocol: 'FWM',
          address: '',
          port: 0,
          firewallMark: 7,
          scheduler: 'wrr',
          schedulerFlags: [],
          realServers: [{ address: '10.20.0.11', port: 0, forward: 'Route', weight: 1, activeConns: 0, inactiveConns: 0 }],
        },
      ],
    } satisfies IpvsTable);
  });

  it('converts the persistence timeout with the HZ it is given', () => {
    const text = kernelFixture('mixed.proc-net-ip_vs.txt');
    const persistent = (hz: number): number | undefined => parseProcNetIpVs(text, { hz }).services.find((s) => s.port === 443)?.persistentSeconds;
    assert.equal(persistent(250), 300);
    assert.equal(persistent(1000), 75);
    assert.equal(persistent(100), 750);
  });
});

describe('parseProcNetIpVs on other lines the kernel can print', () => {
  it('reads ops, FWM persistence, IPv6 persistence, SCTP and Local forwarding', () => {
    const table = parseProcNetIpVs(
      [
        HEADER,
        'TCP  0A000001:0050 rr ops ',
        'FWM  0000000A wrr ops persistent 1250 FFFFFF00',
        '  -> 0A000002:0000      Local   1      2          3         ',
        'TCP  [2001:0db8:0000:0000:0000:0000:0000:0001]:01BB sh persistent 15000 00000080',
        'SCTP  C0A80001:0BB8 lc  ',
        '  -> [0000:0000:0000:0000:0000:ffff:0a00:0005]:0BB8      Masq    65535  0          0         ',
      ].join('\n'),
    );
    assert.deepEqual(
      table.services.map((s) => ({
        protocol: s.protocol,
        address: s.address,
        port: s.port,
        firewallMark: s.firewallMark,
        schedulerFlags: s.schedulerFlags,
        persistentSeconds: s.persistentSeconds,
      })),
      [
        { protocol: 'TCP', address: '10.0.0.1', port: 80, firewallMark: undefined, schedulerFlags: ['ops'], persistentSeconds: undefined },
        { protocol: 'FWM', address: '', port: 0, firewallMark: 10, schedulerFlags: ['ops'], persistentSeconds: 5 },
        { protocol: 'TCP', address: '2001:db8::1', port: 443, firewallMark: undefined, schedulerFlags: [], persistentSeconds: 60 },
        { protocol: 'SCTP', address: '192.168.0.1', port: 3000, firewallMark: undefined, schedulerFlags: [], persistentSeconds: undefined },
      ],
    );
    assert.deepEqual(table.services[1]?.realServers, [{ address: '10.0.0.2', port: 0, forward: 'Local', weight: 1, activeConns: 2, inactiveConns: 3 }]);
    assert.equal(table.services[3]?.realServers[0]?.address, '::ffff:10.0.0.5');
    assert.equal(table.services[3]?.realServers[0]?.weight, 65535);
  });

  it('ignores blank lines, trailing whitespace and CRLF line ends', () => {
    const text = `\n${kernelFixture('rr-masq.proc-net-ip_vs.txt').replace(/\n/g, '  \r\n\r\n')}\n\n`;
    assert.deepEqual(parseProcNetIpVs(text), parseProcNetIpVs(kernelFixture('rr-masq.proc-net-ip_vs.txt')));
  });
});

describe('parseProcNetIpVs errors', () => {
  it('rejects text that is not a listing, naming line 1', () => {
    const error = parseError('cat: /proc/net/ip_vs: No such file or directory\n');
    assert.equal(error.line, 1);
    assert.equal(error.text, 'cat: /proc/net/ip_vs: No such file or directory');
    assert.match(error.message, /^line 1 "cat: \/proc\/net\/ip_vs: No such file or directory": this is not \/proc\/net\/ip_vs/);
  });

  it('rejects empty input', () => {
    const error = parseError('  \n\n');
    assert.equal(error.line, 1);
    assert.match(error.message, /empty/);
  });

  it('rejects a listing whose column header is missing', () => {
    const error = parseError('IP Virtual Server version 1.2.1 (size=4096)\nTCP  AC110002:0050 rr\n');
    assert.equal(error.line, 2);
    assert.match(error.message, /line 2 .*Prot LocalAddress:Port Scheduler Flags/);
  });

  it('names the line number and text of a malformed service line', () => {
    const lines = kernelFixture('mixed.proc-net-ip_vs.txt').split('\n');
    lines[5] = 'TCP  AC11000Z:1F90 mh  ';
    const error = parseError(lines.join('\n'));
    assert.equal(error.line, 6);
    assert.equal(error.text, 'TCP  AC11000Z:1F90 mh');
    assert.match(error.message, /^line 6 "TCP {2}AC11000Z:1F90 mh": expected a service/);
  });

  it('names the line number of a malformed real server line', () => {
    const lines = kernelFixture('mixed.proc-net-ip_vs.txt').split('\n');
    lines[8] = '  -> 0A14000C:0050      Bypass  1      0          38        ';
    const error = parseError(lines.join('\n'));
    assert.equal(error.line, 9);
    assert.match(error.message, /^line 9 " {2}-> 0A14000C:0050 {6}Bypass {2}1 {6}0 {10}38": expected a real server/);
  });

  it('rejects an unknown word after the scheduler', () => {
    const error = parseError(`${HEADER}\nTCP  AC110002:0050 rr persistent soon FFFFFFFF\n`);
    assert.equal(error.line, 4);
    assert.match(error.message, /unexpected "persistent"/);
  });

  it('rejects a real server before any service', () => {
    const error = parseError(`${HEADER}\n  -> 0A14000B:0050      Masq    1      0          5\n`);
    assert.equal(error.line, 4);
    assert.match(error.message, /before any service/);
  });

  it('rejects an IPv6 address that is not one', () => {
    const error = parseError(`${HEADER}\nTCP  [0000:0000:0001]:0050 rr\n`);
    assert.equal(error.line, 4);
    assert.match(error.message, /"\[0000:0000:0001\]" is not an IPv6 address/);
  });

  it('points to parseIpvsadmList when given ipvsadm -Ln output', () => {
    const error = parseError(kernelFixture('rr-masq.ipvsadm-Ln.txt'));
    assert.equal(error.line, 4);
    assert.match(error.message, /ipvsadm -Ln.*parseIpvsadmList/);
  });

  it('rejects an HZ that is not a positive integer, naming it', () => {
    assert.throws(() => parseProcNetIpVs(HEADER, { hz: 0 }), { name: 'RangeError', message: /got 0/ });
    assert.throws(() => parseProcNetIpVs(HEADER, { hz: 2.5 }), { name: 'RangeError', message: /got 2\.5/ });
  });
});
