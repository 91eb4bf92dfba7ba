import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { IpvsParseError } from '../../../server/src/ipvs/ipvs-parse-error.js';
import { parseIpvsadmStats, type IpvsCounters, type ServiceStats } from '../../../server/src/ipvs/parse-ipvsadm-stats.js';
import { fixture, kernelFixture } from '../../utils/fixtures.js';

/** The real `ipvsadm -L -n --stats [--exact]` captures, by their path under test/fixtures/ipvs. */
const CAPTURES = {
  'kernel-6.1/rr-masq.ipvsadm-Ln-exact-stats.txt': kernelFixture('rr-masq.ipvsadm-Ln-exact-stats.txt'),
  'kernel-6.1/rr-masq.ipvsadm-Ln-stats.txt': kernelFixture('rr-masq.ipvsadm-Ln-stats.txt'),
  'kernel-6.1/mixed.ipvsadm-Ln-stats.txt': kernelFixture('mixed.ipvsadm-Ln-stats.txt'),
  'two-services-rr-masq.ipvsadm-Ln-stats.txt': fixture('two-services-rr-masq.ipvsadm-Ln-stats.txt'),
} as const;

const HEADER = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes',
  '  -> RemoteAddress:Port',
].join('\n');

/** Conns, InPkts, OutPkts, InBytes, OutBytes, in the order ipvsadm prints them. */
const c = (conns: number, inPackets: number, outPackets: number, inBytes: number, outBytes: number): IpvsCounters => ({
  conns,
  inPackets,
  outPackets,
  inBytes,
  outBytes,
});
const ZERO = c(0, 0, 0, 0, 0);

function parseError(text: string): IpvsParseError {
  try {
    parseIpvsadmStats(text);
  } catch (error) {
    assert.ok(error instanceof IpvsParseError, `expected an IpvsParseError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected parseIpvsadmStats to throw on ${JSON.stringify(text)}`);
}

/**
 * The counters of each service and real server line of a capture, read with nothing but a split
 * on white space: what a person reads off the capture, to hold the parser's numbers against.
 */
function countersAsPrinted(text: string): { line: string; counters: IpvsCounters }[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((words) => words.length === 7 && /^(TCP|UDP|SCTP|FWM|->)$/.test(words[0]!))
    .map((words) => {
      const [conns, inPackets, outPackets, inBytes, outBytes] = words.slice(2).map(Number) as [number, number, number, number, number];
      return { line: `${words[0]} ${words[1]}`, counters: c(conns, inPackets, outPackets, inBytes, outBytes) };
    });
}

/** The parsed listing flattened in print order, named as the capture names each line. */
function parsedInPrintOrder(services: readonly ServiceStats[]): { line: string; counters: IpvsCounters }[] {
  const endpoint = (address: string, port: number) => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);
  return services.flatMap((s) => [
    { line: s.protocol === 'FWM' ? 'FWM ?' : `${s.protocol} ${endpoint(s.address, s.port)}`, counters: s.counters },
    ...s.realServers.map((r) => ({ line: `-> ${endpoint(r.address, r.port)}`, counters: r.counters })),
  ]);
}

const sum = (counters: readonly IpvsCounters[]): IpvsCounters =>
  counters.reduce((t, x) => c(t.conns + x.conns, t.inPackets + x.inPackets, t.outPackets + x.outPackets, t.inBytes + x.inBytes, t.outBytes + x.outBytes), ZERO);

describe('parseIpvsadmStats on the real captures', () => {
  for (const [name, text] of Object.entries(CAPTURES)) {
    it(`parses ${name}, each line with the counters the capture shows`, () => {
      const parsed = parsedInPrintOrder(parseIpvsadmStats(text));
      // The parser keeps no mark for an FWM service (`FWM 7`): its line is matched by its place and counters.
      const printed = countersAsPrinted(text).map((p) => (p.line.startsWith('FWM ') ? { ...p, line: 'FWM ?' } : p));
      assert.ok(printed.length > 0, `no service or real server line found in ${name}`);
      assert.deepEqual(parsed, printed);
    });
  }

  it('reads rr-masq --exact: the service and both Masq backends after 10 curls', () => {
    assert.deepEqual(parseIpvsadmStats(CAPTURES['kernel-6.1/rr-masq.ipvsadm-Ln-exact-stats.txt']), [
      {
        protocol: 'TCP',
        address: '172.17.0.2',
        port: 80,
        counters: c(5, 25, 25, 1710, 2525),
        realServers: [
          { address: '10.20.0.11', port: 80, counters: c(2, 10, 10, 684, 1010) },
          { address: '10.20.0.12', port: 80, counters: c(3, 15, 15, 1026, 1515) },
        ],
      },
    ]);
  });

  it('reads the same table from rr-masq without --exact, its counters being too small to abbreviate', () => {
    assert.deepEqual(
      parseIpvsadmStats(CAPTURES['kernel-6.1/rr-masq.ipvsadm-Ln-stats.txt']),
      parseIpvsadmStats(CAPTURES['kernel-6.1/rr-masq.ipvsadm-Ln-exact-stats.txt']),
    );
  });

  it('reads two-services: the idle service with its idle backends, then the one that took the traffic', () => {
    assert.deepEqual(parseIpvsadmStats(CAPTURES['two-services-rr-masq.ipvsadm-Ln-stats.txt']), [
      {
        protocol: 'TCP',
        address: '10.0.2.15',
        port: 80,
        counters: ZERO,
        realServers: [
          { address: '10.10.0.11', port: 80, counters: ZERO },
          { address: '10.10.0.12', port: 80, counters: ZERO },
        ],
      },
      {
        protocol: 'TCP',
        address: '10.96.0.10',
        port: 80,
        counters: c(10, 60, 40, 3940, 4580),
        realServers: [
          { address: '10.10.0.11', port: 80, counters: c(5, 30, 20, 1970, 2290) },
          { address: '10.10.0.12', port: 80, counters: c(5, 30, 20, 1970, 2290) },
        ],
      },
    ]);
  });

  it('reads mixed: TCP, a service with no real server, UDP, IPv6 and a firewall mark, in print order', () => {
    const services = parseIpvsadmStats(CAPTURES['kernel-6.1/mixed.ipvsadm-Ln-stats.txt']);
    assert.deepEqual(
      services.map((s) => [s.protocol, s.address, s.port, s.realServers.map((r) => `${r.address}:${r.port}`)]),
      [
        ['TCP', '172.17.0.2', 80, ['10.20.0.11:80', '10.20.0.12:80', '10.20.0.13:80']],
        ['TCP', '172.17.0.2', 443, ['10.20.0.12:443']],
        ['TCP', '172.17.0.2', 8080, []],
        ['UDP', '172.17.0.2', 53, ['10.20.0.11:53']],
        ['TCP', '::1', 80, ['::2:80']],
        ['FWM', '', 0, ['10.20.0.11:0']],
      ],
    );
  });

  it('reads the IPv6 service [::1]:80 and its real server [::2]:80 without brackets, as the other parsers do', () => {
    const v6 = parseIpvsadmStats(CAPTURES['kernel-6.1/mixed.ipvsadm-Ln-stats.txt']).find((s) => s.address.includes(':'));
    assert.deepEqual(v6, { protocol: 'TCP', address: '::1', port: 80, counters: ZERO, realServers: [{ address: '::2', port: 80, counters: ZERO }] });
  });

  it('gives a firewall-mark service no address and port 0, and its real server port 0', () => {
    const fwm = parseIpvsadmStats(CAPTURES['kernel-6.1/mixed.ipvsadm-Ln-stats.txt']).at(-1);
    assert.deepEqual(fwm, { protocol: 'FWM', address: '', port: 0, counters: ZERO, realServers: [{ address: '10.20.0.11', port: 0, counters: ZERO }] });
  });

  it("keeps each line's own counters: in mixed the service line still shows 0 while its backend shows 30 packets", () => {
    // The kernel folds per-CPU counters into the service's line later than into the real servers':
    // the capture shows the lag, and a reader must not "fix" it.
    const [first] = parseIpvsadmStats(CAPTURES['kernel-6.1/mixed.ipvsadm-Ln-stats.txt']);
    assert.deepEqual(first?.counters, ZERO);
    assert.deepEqual(
      first?.realServers.map((r) => r.counters),
      [c(6, 30, 30, 2052, 3030), ZERO, ZERO],
    );
  });

  it('in rr-masq and two-services, where nothing lags, the real servers add up to their service', () => {
    for (const name of ['kernel-6.1/rr-masq.ipvsadm-Ln-exact-stats.txt', 'two-services-rr-masq.ipvsadm-Ln-stats.txt'] as const) {
      for (const s of parseIpvsadmStats(CAPTURES[name]))
        assert.deepEqual(sum(s.realServers.map((r) => r.counters)), s.counters, `${name}: ${s.address}:${s.port}`);
    }
  });

  it('reads the output of ipvsadm -L -n --stats --exact -t <service>, which has no version line', () => {
    const oneService = CAPTURES['kernel-6.1/rr-masq.ipvsadm-Ln-exact-stats.txt'].split('\n').slice(1).join('\n');
    assert.deepEqual(parseIpvsadmStats(oneService), parseIpvsadmStats(CAPTURES['kernel-6.1/rr-masq.ipvsadm-Ln-exact-stats.txt']));
  });

  it('reads an empty table as no services', () => {
    assert.deepEqual(parseIpvsadmStats(`${HEADER}\n`), []);
  });

  it('reads counters beyond what ipvsadm would abbreviate when they are printed in full (--exact)', () => {
    const [s] = parseIpvsadmStats(`${HEADER}\nTCP  10.0.0.1:80   123456789  1234567890  987654321  98765432100  12345678901\n`);
    assert.deepEqual(s?.counters, c(123456789, 1234567890, 987654321, 98765432100, 12345678901));
  });
});

describe('parseIpvsadmStats errors', () => {
  const rrMasq = CAPTURES['kernel-6.1/rr-masq.ipvsadm-Ln-stats.txt'];

  it('refuses an abbreviated counter on a service line, naming the line and asking for --exact', () => {
    const text = rrMasq.replace('     1710', '      12K');
    const error = parseError(text);
    assert.equal(error.name, 'IpvsParseError');
    assert.equal(error.line, 4);
    assert.equal(error.text, 'TCP  172.17.0.2:80                       5       25       25      12K     2525');
    assert.match(error.message, /^line 4 "TCP {2}172\.17\.0\.2:80 +5 +25 +25 +12K +2525": .*--exact/);
  });

  it('refuses an abbreviated counter on a real server line, as ipvsadm prints counts of 100 million and more', () => {
    const text = rrMasq.replace('      684     1010', '  123456K     1010');
    const error = parseError(text);
    assert.equal(error.line, 5);
    assert.equal(error.text, '  -> 10.20.0.11:80                       2       10       10  123456K     1010');
    assert.match(error.message, /^line 5 ".*123456K.*": .*--exact/);
  });

  for (const suffix of ['K', 'M', 'G', 'T']) {
    it(`refuses a counter abbreviated with ${suffix}`, () => {
      const error = parseError(`${HEADER}\nTCP  10.0.0.1:80  1  2  3  45${suffix}  6\n`);
      assert.equal(error.line, 4);
      assert.match(error.message, /--exact/);
    });
  }

  it('refuses a plain ipvsadm -Ln listing at its header line', () => {
    const error = parseError(kernelFixture('rr-masq.ipvsadm-Ln.txt'));
    assert.equal(error.line, 2);
    assert.equal(error.text, 'Prot LocalAddress:Port Scheduler Flags');
    assert.match(error.message, /^line 2 "Prot LocalAddress:Port Scheduler Flags": expected the header of `ipvsadm -Ln --stats`$/);
  });

  it('refuses ipvsadm -Ln -t <service> (no version line) at its header, line 1', () => {
    const error = parseError(kernelFixture('mixed.ipvsadm-Ln-t-one-service.txt'));
    assert.equal(error.line, 1);
    assert.match(error.message, /expected the header of `ipvsadm -Ln --stats`/);
  });

  it('refuses a --rate listing, whose header has the same shape but other columns', () => {
    const error = parseError(kernelFixture('rr-masq.ipvsadm-Ln-rate.txt'));
    assert.equal(error.line, 2);
    assert.match(error.text, /CPS +InPPS +OutPPS +InBPS +OutBPS$/);
  });

  it('refuses a listing without the real server header', () => {
    const error = parseError(rrMasq.replace('  -> RemoteAddress:Port\n', ''));
    assert.equal(error.line, 3);
    assert.match(error.message, /expected " {2}-> RemoteAddress:Port"/);
  });

  it('refuses a real server before any service, at its line', () => {
    const error = parseError(
      `${HEADER}\n  -> 10.20.0.11:80                       2       10       10      684     1010\nTCP  172.17.0.2:80  5 25 25 1710 2525\n`,
    );
    assert.equal(error.line, 4);
    assert.equal(error.text, '  -> 10.20.0.11:80                       2       10       10      684     1010');
    assert.match(error.message, /a real server line before any service line$/);
  });

  it('counts blank lines in the line numbers it reports', () => {
    const error = parseError(`\n${HEADER}\n\nTCP  10.0.0.1:80  1  2  3  4\n`);
    assert.equal(error.line, 6);
    assert.match(error.message, /five counters/);
  });

  it('refuses an address that is not an address:port', () => {
    const error = parseError(`${HEADER}\nTCP  nginx-1:80  1  2  3  4  5\n`);
    assert.equal(error.line, 4);
    assert.match(error.message, /"nginx-1:80" is not an address:port/);
  });

  it('refuses empty output at line 1', () => {
    const error = parseError('');
    assert.equal(error.line, 1);
    assert.match(error.message, /expected the header of `ipvsadm -Ln --stats`/);
  });
});
