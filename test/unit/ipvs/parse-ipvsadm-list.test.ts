import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { IpvsParseError } from '../../../server/src/ipvs/ipvs-parse-error.js';
import type { IpvsTable, VirtualService } from '../../../server/src/ipvs/ipvs-table.js';
import { parseIpvsadmList } from '../../../server/src/ipvs/parse-ipvsadm-list.js';
import { parseProcNetIpVs } from '../../../server/src/ipvs/parse-proc-net-ip-vs.js';
import { fixture, kernelFixture } from '../../utils/fixtures.js';

const HEADER = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port Scheduler Flags',
  '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
].join('\n');

function parseError(text: string): IpvsParseError {
  try {
    parseIpvsadmList(text);
  } catch (error) {
    assert.ok(error instanceof IpvsParseError, `expected an IpvsParseError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected parseIpvsadmList to throw on ${JSON.stringify(text)}`);
}

const MIXED: IpvsTable = {
  services: [
    {
      protocol: 'TCP',
      address: '172.17.0.2',
      port: 80,
      scheduler: 'rr',
      schedulerFlags: [],
      realServers: [
        { address: '10.20.0.11', port: 80, forward: 'Masq', weight: 2, activeConns: 0, inactiveConns: 110 },
        { address: '10.20.0.12', port: 80, forward: 'Route', weight: 1, activeConns: 0, inactiveConns: 38 },
        { address: '10.20.0.13', port: 80, forward: 'Tunnel', weight: 0, activeConns: 0, inactiveConns: 24 },
      ],
    },
    {
      protocol: 'TCP',
      address: '172.17.0.2',
      port: 443,
      scheduler: 'sh',
      schedulerFlags: ['sh-fallback', 'sh-port'],
      persistentSeconds: 300,
      realServers: [{ address: '10.20.0.12', port: 443, forward: 'Masq', weight: 1, activeConns: 0, inactiveConns: 0 }],
    },
    { protocol: 'TCP', address: '172.17.0.2', port: 8080, scheduler: 'mh', schedulerFlags: ['mh-port'], realServers: [] },
    {
      protocol: 'UDP',
      address: '172.17.0.2',
      port: 53,
      scheduler: 'lc',
      schedulerFlags: [],
      realServers: [{ address: '10.20.0.11', port: 53, forward: 'Masq', weight: 1, activeConns: 0, inactiveConns: 0 }],
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
      protocol: 'FWM',
      address: '',
      port: 0,
      firewallMark: 7,
      scheduler: 'wrr',
      schedulerFlags: [],
      realServers: [{ address: '10.20.0.11', port: 0, forward: 'Route', weight: 1, activeConns: 0, inactiveConns: 0 }],
    },
  ],
};

describe('parseIpvsadmList on real ipvsadm 1.31 output', () => {
  it('reads an empty table', () => {
    assert.deepEqual(parseIpvsadmList(kernelFixture('empty.ipvsadm-Ln.txt')), { services: [] });
  });

  it('reads rr with two masq backends, before and after traffic', () => {
    const service = (name: string): VirtualService | undefined => parseIpvsadmList(kernelFixture(name)).services[0];
    const after = service('rr-masq.ipvsadm-Ln.txt');
    assert.deepEqual(after, {
      protocol: 'TCP',
      address: '172.17.0.2',
      port: 80,
      scheduler: 'rr',
      schedulerFlags: [],
      realServers: [
        { address: '10.20.0.11', port: 80, forward: 'Masq', weight: 1, activeConns: 0, inactiveConns: 5 },
        { address: '10.20.0.12', port: 80, forward: 'Masq', weight: 1, activeConns: 0, inactiveConns: 5 },
      ],
    } satisfies VirtualService);
    const before = service('rr-masq-before-traffic.ipvsadm-Ln.txt');
    assert.deepEqual(
      before?.realServers.map((r) => [r.address, r.inactiveConns]),
      [
        ['10.20.0.11', 0],
        ['10.20.0.12', 0],
      ],
    );
  });

  it('reads two rr services', () => {
    const table = parseIpvsadmList(fixture('two-services-rr-masq.ipvsadm-Ln.txt'));
    assert.deepEqual(
      table.services.map((s) => [
        `${s.protocol} ${s.address}:${s.port} ${s.scheduler}`,
        s.realServers.map((r) => `${r.address}:${r.port} ${r.forward} ${r.weight} ${r.inactiveConns}`),
      ]),
      [
        ['TCP 10.0.2.15:80 rr', ['10.10.0.11:80 Masq 1 0', '10.10.0.12:80 Masq 1 0']],
        ['TCP 10.96.0.10:80 rr', ['10.10.0.11:80 Masq 1 7', '10.10.0.12:80 Masq 1 7']],
      ],
    );
  });

  it('reads the mixed table: flags in parentheses, persistence, UDP, IPv6, FWM, in printed order', () => {
    assert.deepEqual(parseIpvsadmList(kernelFixture('mixed.ipvsadm-Ln.txt')), MIXED);
  });

  it('reads a one-service listing (-t), which has no version line', () => {
    assert.deepEqual(parseIpvsadmList(kernelFixture('mixed.ipvsadm-Ln-t-one-service.txt')), {
      services: [MIXED.services[0]],
    });
  });

  it('reads a quiesced backend (weight 0)', () => {
    const [service] = parseIpvsadmList(kernelFixture('rr-quiesced.ipvsadm-Ln.txt')).services;
    assert.equal(service?.scheduler, 'rr');
    assert.deepEqual(
      service?.realServers.map((r) => [r.address, r.weight, r.inactiveConns]),
      [
        ['10.20.0.11', 3, 110],
        ['10.20.0.12', 0, 38],
      ],
    );
  });

  // InActConn per backend 10.20.0.11-13, as captured after the sequence runs.
  const w311: readonly (readonly [string, readonly [number, number, number]])[] = [
    ['wrr', [11, 8, 3]],
    ['lc', [11, 11, 12]],
    ['wlc', [23, 11, 12]],
    ['sed', [35, 11, 12]],
    ['nq', [35, 11, 24]],
    ['sh', [47, 11, 24]],
    ['dh', [59, 11, 24]],
    ['mh', [59, 23, 24]],
    ['lblc', [71, 23, 24]],
    ['lblcr', [71, 35, 24]],
    ['fo', [83, 35, 24]],
    ['ovf', [95, 35, 24]],
  ];
  for (const [scheduler, inactive] of w311) {
    it(`reads ${scheduler} with weights 3,1,1`, () => {
      const table = parseIpvsadmList(kernelFixture(`${scheduler}-w311.ipvsadm-Ln.txt`));
      assert.equal(table.services.length, 1);
      const [service] = table.services;
      assert.equal(service?.protocol, 'TCP');
      assert.equal(service?.address, '172.17.0.2');
      assert.equal(service?.port, 80);
      assert.equal(service?.scheduler, scheduler);
      assert.deepEqual(service?.schedulerFlags, []);
      assert.deepEqual(
        service?.realServers.map((r) => [r.address, r.port, r.forward, r.weight, r.activeConns, r.inactiveConns]),
        [
          ['10.20.0.11', 80, 'Masq', 3, 0, inactive[0]],
          ['10.20.0.12', 80, 'Masq', 1, 0, inactive[1]],
          ['10.20.0.13', 80, 'Masq', 1, 0, inactive[2]],
        ],
      );
    });
  }
});

/** A service and its real servers as sorted strings, so that listing order does not matter. */
function canonical(table: IpvsTable, withSchedulerFlags: boolean): string[] {
  return table.services
    .map((s) => {
      const flags = withSchedulerFlags ? ` (${s.schedulerFlags.join(',')})` : '';
      const head = `${s.protocol} ${s.address}:${s.port} mark=${s.firewallMark ?? '-'} ${s.scheduler}${flags} persistent=${s.persistentSeconds ?? '-'}`;
      const servers = s.realServers.map((r) => `${r.address}:${r.port} ${r.forward} w${r.weight} a${r.activeConns} i${r.inactiveConns}`).sort();
      return `${head} -> ${servers.join(' | ')}`;
    })
    .sort();
}

describe('parseIpvsadmList and parseProcNetIpVs agree on the same kernel state', () => {
  const pairs: readonly (readonly [string, string])[] = [
    ['kernel-6.1/empty.ipvsadm-Ln.txt', 'kernel-6.1/empty.proc-net-ip_vs.txt'],
    ['kernel-6.1/rr-masq.ipvsadm-Ln.txt', 'kernel-6.1/rr-masq.proc-net-ip_vs.txt'],
    ['kernel-6.1/mixed.ipvsadm-Ln.txt', 'kernel-6.1/mixed.proc-net-ip_vs.txt'],
    ['two-services-rr-masq.ipvsadm-Ln.txt', 'two-services-rr-masq.proc-net-ip_vs.txt'],
  ];
  for (const [ipvsadmFile, procFile] of pairs) {
    it(`${ipvsadmFile} matches ${procFile}, scheduler flags aside`, () => {
      const fromIpvsadm = parseIpvsadmList(fixture(ipvsadmFile));
      const fromProc = parseProcNetIpVs(fixture(procFile));
      assert.deepEqual(canonical(fromIpvsadm, false), canonical(fromProc, false));
    });
  }

  it('differs only in the scheduler flags, which /proc/net/ip_vs never prints', () => {
    const fromIpvsadm = parseIpvsadmList(kernelFixture('mixed.ipvsadm-Ln.txt'));
    const fromProc = parseProcNetIpVs(kernelFixture('mixed.proc-net-ip_vs.txt'));
    const withFlags = (t: IpvsTable): string[] => t.services.filter((s) => s.schedulerFlags.length > 0).map((s) => `${s.port} ${s.schedulerFlags.join(',')}`);
    assert.deepEqual(withFlags(fromIpvsadm), ['443 sh-fallback,sh-port', '8080 mh-port']);
    assert.deepEqual(withFlags(fromProc), []);
  });
});

describe('parseIpvsadmList on other lines ipvsadm can print', () => {
  it('reads flag-N, persistence with mask and pe, ops, SCTP, Local, and normalises IPv6', () => {
    const table = parseIpvsadmList(
      [
        HEADER,
        'TCP  10.0.0.1:80 wlc (flag-1,flag-3) persistent 60 mask 255.255.255.0 pe sip ops',
        '  -> 10.0.0.2:80                  Local   1      2          3         ',
        'SCTP  10.0.0.1:3000 rr ops',
        'TCP  [2001:DB8:0:0:0:0:0:1]:443 sh persistent 120 mask 64',
        '  -> [::ffff:10.0.0.5]:443         Tunnel  7      0          0         ',
        'FWM  12 rr persistent 30',
      ].join('\n'),
    );
    assert.deepEqual(
      table.services.map((s) => [s.protocol, s.address, s.port, s.firewallMark, s.schedulerFlags, s.persistentSeconds]),
      [
        ['TCP', '10.0.0.1', 80, undefined, ['flag-1', 'flag-3', 'ops'], 60],
        ['SCTP', '10.0.0.1', 3000, undefined, ['ops'], undefined],
        ['TCP', '2001:db8::1', 443, undefined, [], 120],
        ['FWM', '', 0, 12, [], 30],
      ],
    );
    assert.deepEqual(table.services[0]?.realServers, [{ address: '10.0.0.2', port: 80, forward: 'Local', weight: 1, activeConns: 2, inactiveConns: 3 }]);
    assert.deepEqual(table.services[2]?.realServers, [
      { address: '::ffff:10.0.0.5', port: 443, forward: 'Tunnel', weight: 7, activeConns: 0, inactiveConns: 0 },
    ]);
  });

  it('ignores blank lines, trailing whitespace and CRLF line ends', () => {
    const text = `\n\n${kernelFixture('mixed.ipvsadm-Ln.txt').replace(/\n/g, ' \t\r\n\r\n')}`;
    assert.deepEqual(parseIpvsadmList(text), MIXED);
  });
});

describe('parseIpvsadmList errors', () => {
  it('asks for -n when the listing has host names (ipvsadm -L)', () => {
    const error = parseError(kernelFixture('rr-masq.ipvsadm-L.txt'));
    assert.equal(error.line, 4);
    assert.equal(error.text, 'TCP  489d1da43fb0:80 rr');
    assert.match(error.message, /^line 4 "TCP {2}489d1da43fb0:80 rr": "489d1da43fb0" is a name, not an address: .*ipvsadm -Ln/);
  });

  it('asks for -n when a port is a service name', () => {
    const error = parseError(`${HEADER}\nTCP  10.0.0.1:http rr\n`);
    assert.equal(error.line, 4);
    assert.match(error.message, /port "http" is a service name.*ipvsadm -Ln/);
  });

  it('asks for -n when a real server has a host name', () => {
    const error = parseError(`${HEADER}\nTCP  10.0.0.1:80 rr\n  -> nginx-1:80                   Masq    1      0          0\n`);
    assert.equal(error.line, 5);
    assert.match(error.message, /"nginx-1" is a name.*ipvsadm -Ln/);
  });

  const otherListings: readonly (readonly [string, number, RegExp])[] = [
    ['rr-masq.ipvsadm-Ln-stats.txt', 2, /--stats/],
    ['rr-masq.ipvsadm-Ln-rate.txt', 2, /--rate/],
    ['mixed.ipvsadm-Ln-persistent-conn.txt', 2, /--persistent-conn/],
    ['rr-masq.ipvsadm-Lnc.txt', 1, /-Lnc/],
    ['rr-masq.ipvsadm-Sn.txt', 1, /-S/],
  ];
  for (const [file, line, option] of otherListings) {
    it(`names the listing it was given instead: ${file}`, () => {
      const error = parseError(kernelFixture(file));
      assert.equal(error.line, line);
      assert.match(error.message, option);
      assert.match(error.message, /plain `ipvsadm -Ln`/);
    });
  }

  it('points to parseProcNetIpVs when given /proc/net/ip_vs', () => {
    const error = parseError(kernelFixture('rr-masq.proc-net-ip_vs.txt'));
    assert.equal(error.line, 4);
    assert.match(error.message, /\/proc\/net\/ip_vs.*parseProcNetIpVs/);
  });

  it('rejects text that is not a listing, naming line 1', () => {
    for (const text of ['cat: /proc/net/ip_vs: No such file or directory', kernelFixture('errors.txt')]) {
      const error = parseError(text);
      assert.equal(error.line, 1);
      assert.match(error.message, /^line 1 ".+": this is not `ipvsadm -Ln` output/);
    }
  });

  it('rejects empty input', () => {
    const error = parseError('');
    assert.equal(error.line, 1);
    assert.match(error.message, /empty/);
  });

  it('names the line number and text of a malformed service line', () => {
    const lines = kernelFixture('mixed.ipvsadm-Ln.txt').split('\n');
    lines[9] = 'TCP  172.17.0.2:8080 mh [mh-port]';
    const error = parseError(lines.join('\n'));
    assert.equal(error.line, 10);
    assert.equal(error.text, 'TCP  172.17.0.2:8080 mh [mh-port]');
    assert.match(error.message, /^line 10 "TCP {2}172\.17\.0\.2:8080 mh \[mh-port\]": unexpected "\[mh-port\]"/);
  });

  it('names the line number of a malformed real server line', () => {
    const lines = kernelFixture('mixed.ipvsadm-Ln.txt').split('\n');
    lines[5] = '  -> 10.20.0.12:80                Bypass  1      0          38        ';
    const error = parseError(lines.join('\n'));
    assert.equal(error.line, 6);
    assert.match(error.message, /^line 6 " {2}-> 10\.20\.0\.12:80 {16}Bypass {2}1 {6}0 {10}38": expected a real server/);
  });

  it('rejects a line that is neither a service nor a real server', () => {
    const error = parseError(`${HEADER}\nTCP  10.0.0.1:80 rr\nhello\n`);
    assert.equal(error.line, 5);
    assert.match(error.message, /^line 5 "hello": expected a service/);
  });

  it('rejects a real server before any service', () => {
    const error = parseError(`${HEADER}\n  -> 10.20.0.11:80                Masq    1      0          5\n`);
    assert.equal(error.line, 4);
    assert.match(error.message, /before any service/);
  });

  it('rejects a port out of range', () => {
    const error = parseError(`${HEADER}\nUDP  10.0.0.1:70000 rr\n`);
    assert.equal(error.line, 4);
    assert.match(error.message, /"70000" in "10\.0\.0\.1:70000" is not a port number/);
  });
});
