import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { canonicalIpAddress, findService } from '../../../server/src/ipvs/find-service.js';
import type { IpvsTable } from '../../../server/src/ipvs/ipvs-table.js';
import { parseIpvsadmList } from '../../../server/src/ipvs/parse-ipvsadm-list.js';
import { parseProcNetIpVs } from '../../../server/src/ipvs/parse-proc-net-ip-vs.js';
import { kernelFixture } from '../../utils/fixtures.js';

const mixed = parseIpvsadmList(kernelFixture('mixed.ipvsadm-Ln.txt'));
const mixedFromProc = parseProcNetIpVs(kernelFixture('mixed.proc-net-ip_vs.txt'));

describe('findService', () => {
  it('finds services by protocol, address and port', () => {
    assert.equal(findService(mixed, 'TCP', '172.17.0.2', 80)?.scheduler, 'rr');
    assert.equal(findService(mixed, 'TCP', '172.17.0.2', 443)?.scheduler, 'sh');
    assert.equal(findService(mixed, 'TCP', '172.17.0.2', 8080)?.scheduler, 'mh');
    assert.equal(findService(mixed, 'UDP', '172.17.0.2', 53)?.scheduler, 'lc');
    assert.equal(findService(mixedFromProc, 'UDP', '172.17.0.2', 53)?.realServers[0]?.address, '10.20.0.11');
  });

  it('returns undefined when protocol, address or port differ', () => {
    assert.equal(findService(mixed, 'TCP', '172.17.0.2', 53), undefined);
    assert.equal(findService(mixed, 'UDP', '172.17.0.2', 80), undefined);
    assert.equal(findService(mixed, 'TCP', '172.17.0.3', 80), undefined);
    assert.equal(findService({ services: [] }, 'TCP', '172.17.0.2', 80), undefined);
  });

  it('treats every spelling of an IPv6 address as the same', () => {
    for (const spelling of ['::1', '0:0:0:0:0:0:0:1', '0000:0000:0000:0000:0000:0000:0000:0001', '[::1]', '::0:1']) {
      assert.equal(findService(mixed, 'TCP', spelling, 80)?.realServers[0]?.address, '::2', spelling);
      assert.equal(findService(mixedFromProc, 'TCP', spelling, 80)?.realServers[0]?.address, '::2', spelling);
    }
    assert.equal(findService(mixed, 'TCP', '::2', 80), undefined);
  });

  it('compares with the canonical form even when a table was written by hand', () => {
    const table: IpvsTable = {
      services: [{ protocol: 'TCP', address: '2001:DB8:0::10', port: 80, scheduler: 'rr', schedulerFlags: [], realServers: [] }],
    };
    assert.equal(findService(table, 'TCP', '2001:db8::10', 80)?.scheduler, 'rr');
  });

  it('finds FWM services by mark, passed as the port', () => {
    const service = findService(mixed, 'FWM', '', 7);
    assert.equal(service?.scheduler, 'wrr');
    assert.equal(service?.firewallMark, 7);
    assert.equal(findService(mixedFromProc, 'FWM', '', 7)?.realServers[0]?.forward, 'Route');
    assert.equal(findService(mixed, 'FWM', '', 8), undefined);
  });

  it('throws on an address that is not one, naming it', () => {
    assert.throws(() => findService(mixed, 'TCP', 'director', 80), {
      name: 'TypeError',
      message: /"director" is not an IPv4 or IPv6 address/,
    });
    assert.throws(() => findService(mixed, 'FWM', '172.17.0.2', 7), { name: 'TypeError', message: /"172\.17\.0\.2"/ });
  });
});

describe('canonicalIpAddress', () => {
  const cases: readonly (readonly [string, string])[] = [
    ['172.17.0.2', '172.17.0.2'],
    ['010.020.000.011', '10.20.0.11'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['0000:0000:0000:0000:0000:0000:0000:0002', '::2'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    // A single zero group is written out, never shortened.
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80:0:0:1:0:0:0:1', 'fe80:0:0:1::1'],
    // IPv4-mapped and -compatible addresses keep a dotted tail, as inet_ntop (and ipvsadm) print.
    ['0000:0000:0000:0000:0000:ffff:0a14:000b', '::ffff:10.20.0.11'],
    ['::ffff:10.20.0.11', '::ffff:10.20.0.11'],
    ['::a14:b', '::10.20.0.11'],
  ];
  for (const [input, expected] of cases) {
    it(`writes ${input} as ${expected}`, () => assert.equal(canonicalIpAddress(input), expected));
  }

  for (const input of [
    '',
    'director',
    '10.0.0.256',
    '10.0.0',
    '1:::2',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3',
    '12345::',
    '[::1]',
    'fe80::1%eth0',
    ':1:2:3:4:5:6:7',
  ]) {
    it(`rejects ${JSON.stringify(input)}`, () => assert.equal(canonicalIpAddress(input), undefined));
  }
});
