import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  capacity,
  CidrError,
  firstFreeSubnet,
  formatCidr,
  formatIpv4,
  overlaps,
  parseCidr,
  prefixFor,
  type Ipv4Cidr,
  hostAddress,
} from '../../../server/src/runtime/docker/subnet-pool.js';
import { prng } from '../../utils/prng.js';

const cidr = (text: string): Ipv4Cidr => parseCidr(text);
const free = (pool: string, prefix: number, used: readonly string[]): string | undefined => {
  const found = firstFreeSubnet(cidr(pool), prefix, used.map(cidr));
  return found && formatCidr(found);
};

describe('parseCidr', () => {
  it('parses a network address and its prefix', () => {
    const cases: [string, Ipv4Cidr][] = [
      ['10.200.0.0/16', { base: 0x0ac80000, prefix: 16 }],
      ['0.0.0.0/0', { base: 0, prefix: 0 }],
      ['192.168.1.16/28', { base: 0xc0a80110, prefix: 28 }],
      ['255.255.255.255/32', { base: 0xffffffff, prefix: 32 }],
      [' 172.16.0.0/12 ', { base: 0xac100000, prefix: 12 }],
    ];
    for (const [text, expected] of cases) assert.deepEqual(parseCidr(text), expected, text);
  });

  it('strictly refuses an address inside the network, naming the network it belongs to', () => {
    assert.throws(
      () => parseCidr('10.200.0.1/16'),
      (e: unknown) => {
        assert.ok(e instanceof CidrError);
        assert.equal(e.name, 'CidrError');
        assert.equal(e.message, '10.200.0.1/16 does not start on a /16 boundary (the network is 10.200.0.0/16)');
        return true;
      },
    );
    assert.throws(() => parseCidr('192.168.1.20/28', { strict: true }), {
      message: '192.168.1.20/28 does not start on a /28 boundary (the network is 192.168.1.16/28)',
    });
  });

  it('loosely rounds an address inside the network down to the network', () => {
    assert.deepEqual(parseCidr('10.200.3.7/16', { strict: false }), { base: 0x0ac80000, prefix: 16 });
    assert.deepEqual(parseCidr('192.168.1.31/28', { strict: false }), { base: 0xc0a80110, prefix: 28 });
    assert.deepEqual(parseCidr('192.168.1.16/28', { strict: false }), { base: 0xc0a80110, prefix: 28 });
  });

  it('refuses text that is not an IPv4 subnet, quoting it', () => {
    const bad = [
      '',
      'garbage',
      '10.200.0.0',
      '10.200.0.0/',
      '10.200.0/16',
      '10.200.0.0.0/16',
      '10.200.0.0/33',
      '10.200.0.0/99',
      '10.256.0.0/16',
      '10.200.0.1000/32',
      '10.200.-1.0/24',
      '10.200.0.0/16/16',
      '::1/128',
    ];
    for (const text of bad) {
      assert.throws(() => parseCidr(text), { name: 'CidrError', message: `${JSON.stringify(text)} is not an IPv4 subnet such as 10.200.0.0/16` }, text);
      assert.throws(() => parseCidr(text, { strict: false }), CidrError, text);
    }
  });
});

describe('formatIpv4 and formatCidr', () => {
  it('format the extremes of the address space', () => {
    assert.equal(formatIpv4(0), '0.0.0.0');
    assert.equal(formatIpv4(0xffffffff), '255.255.255.255');
    assert.equal(formatIpv4(0x0a000102), '10.0.1.2');
  });

  it('round-trip through parseCidr', () => {
    for (const text of ['0.0.0.0/0', '0.0.0.0/32', '255.255.255.255/32', '10.200.0.0/16', '192.168.1.240/28', '128.0.0.0/1']) {
      assert.equal(formatCidr(parseCidr(text)), text);
    }
  });
});

describe('overlaps', () => {
  const cases: [string, string, boolean][] = [
    ['10.0.0.0/28', '10.0.0.16/28', false], // adjacent
    ['10.0.0.16/28', '10.0.0.0/28', false], // adjacent, the other way round
    ['10.0.0.0/24', '10.0.0.16/28', true], // nested
    ['10.0.0.240/28', '10.0.0.0/24', true], // nested at the end
    ['10.0.0.0/28', '10.0.0.0/28', true], // identical
    ['10.0.0.0/28', '10.0.1.0/28', false], // disjoint
    ['0.0.0.0/0', '255.255.255.255/32', true],
  ];
  for (const [a, b, expected] of cases) {
    it(`${a} and ${b}: ${expected}`, () => {
      assert.equal(overlaps(cidr(a), cidr(b)), expected);
      assert.equal(overlaps(cidr(b), cidr(a)), expected, 'symmetric');
    });
  }
});

describe('capacity', () => {
  it('counts the subnets of a prefix a pool holds, none when they are larger than the pool', () => {
    const pool = cidr('10.200.0.0/16');
    assert.equal(capacity(pool, 28), 4096);
    assert.equal(capacity(pool, 24), 256);
    assert.equal(capacity(pool, 16), 1);
    assert.equal(capacity(pool, 15), 0);
    assert.equal(capacity(cidr('0.0.0.0/0'), 32), 2 ** 32);
  });
});

describe('firstFreeSubnet', () => {
  it('takes the start of an empty pool', () => {
    assert.equal(free('10.200.0.0/16', 28, []), '10.200.0.0/28');
    assert.equal(free('10.200.0.0/16', 16, []), '10.200.0.0/16');
  });

  it('skips used subnets, taking the first gap', () => {
    assert.equal(free('10.200.0.0/16', 28, ['10.200.0.0/28', '10.200.0.16/28']), '10.200.0.32/28');
    assert.equal(free('10.200.0.0/16', 28, ['10.200.0.16/28', '10.200.0.0/28', '10.200.0.48/28']), '10.200.0.32/28', 'in any order');
    assert.equal(free('10.200.0.0/16', 28, ['10.200.0.16/28']), '10.200.0.0/28');
  });

  it('skips a used network larger than the subnet size', () => {
    assert.equal(free('10.200.0.0/16', 28, ['10.200.0.0/24']), '10.200.1.0/28');
    assert.equal(free('10.200.0.0/16', 28, ['10.200.0.0/28', '10.200.0.16/28', '10.200.0.0/24', '10.200.1.0/28']), '10.200.1.16/28');
    assert.equal(free('10.200.0.0/16', 27, ['10.200.0.0/28', '10.200.0.32/28']), '10.200.0.64/27', 'a /28 blocks its whole /27');
  });

  it('ignores used networks outside the pool but not one that contains it', () => {
    assert.equal(free('10.200.0.0/16', 28, ['10.199.0.0/16', '10.201.0.0/28', '192.168.0.0/28']), '10.200.0.0/28');
    assert.equal(free('10.200.0.0/16', 28, ['10.0.0.0/8']), undefined);
  });

  it('returns undefined when the pool is full or the subnet does not fit it', () => {
    assert.equal(free('10.200.0.0/26', 28, ['10.200.0.0/28', '10.200.0.16/28', '10.200.0.32/28', '10.200.0.48/28']), undefined);
    assert.equal(free('10.200.0.0/26', 28, ['10.200.0.0/26']), undefined);
    assert.equal(free('10.200.0.0/16', 15, []), undefined);
    assert.equal(free('10.200.0.0/16', 33, []), undefined);
  });

  it('agrees with stepping through every subnet, for random used networks', () => {
    const random = prng(7);
    const pool = cidr('10.200.0.0/24');
    for (let round = 0; round < 500; round++) {
      const prefix = 26 + Math.floor(random() * 5);
      const used = Array.from({ length: Math.floor(random() * 12) }, () =>
        parseCidr(`10.${199 + Math.floor(random() * 3)}.0.${Math.floor(random() * 256)}/${22 + Math.floor(random() * 11)}`, { strict: false }),
      );
      let expected: string | undefined;
      for (let base = pool.base; base < pool.base + 256 && expected === undefined; base += 2 ** (32 - prefix)) {
        const subnet = { base, prefix };
        if (!used.some((u) => overlaps(u, subnet))) expected = formatCidr(subnet);
      }
      const found = firstFreeSubnet(pool, prefix, used);
      assert.equal(found && formatCidr(found), expected, `/${prefix} among ${used.map(formatCidr).join(' ')}`);
    }
  });

  it('finds the last free /28 of a /16 with 4095 in use quickly', () => {
    const pool = cidr('10.200.0.0/16');
    const used: Ipv4Cidr[] = [];
    for (let i = 0; i < 4096; i++) if (i !== 4000) used.push({ base: pool.base + i * 16, prefix: 28 });
    const started = performance.now();
    const found = firstFreeSubnet(pool, 28, used);
    const elapsedMs = performance.now() - started;
    assert.equal(found && formatCidr(found), '10.200.250.0/28');
    assert.ok(elapsedMs < 250, `took ${elapsedMs} ms`);
    used.push({ base: pool.base + 4000 * 16, prefix: 28 });
    assert.equal(firstFreeSubnet(pool, 28, used), undefined);
  });
});

describe('prefixFor', () => {
  const cases: { hosts: number; spare: number; atMost: number; expected: number }[] = [
    { hosts: 3, spare: 4, atMost: 28, expected: 28 }, // 10 addresses: a /28 holds 16
    { hosts: 3, spare: 4, atMost: 29, expected: 28 },
    { hosts: 12, spare: 4, atMost: 28, expected: 27 }, // 19 addresses
    { hosts: 13, spare: 0, atMost: 29, expected: 28 }, // exactly 16 addresses
    { hosts: 14, spare: 0, atMost: 29, expected: 27 }, // 17 addresses
    { hosts: 1, spare: 0, atMost: 32, expected: 30 }, // 4 addresses
    { hosts: 1, spare: 0, atMost: 28, expected: 28 }, // never longer than atMost
    { hosts: 200, spare: 4, atMost: 28, expected: 24 },
  ];
  for (const { hosts, spare, atMost, expected } of cases) {
    it(`${hosts} hosts and ${spare} spare, at most /${atMost}: /${expected}`, () => {
      assert.equal(prefixFor(hosts, spare, atMost), expected);
    });
  }
});

describe('hostAddress', () => {
  it('gives hosts the addresses after the network and gateway addresses, and refuses what does not fit', () => {
    const subnet = parseCidr('10.200.0.16/28');
    assert.equal(hostAddress(subnet, 0), '10.200.0.18');
    assert.equal(hostAddress(subnet, 12), '10.200.0.30');
    assert.throws(() => hostAddress(subnet, 13), { name: 'CidrError', message: 'host 14 does not fit in 10.200.0.16/28' });
  });
});
