import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { hostAllowed, hostnameOf, hostPolicy, hostRefusal, originAllowed } from '../../../server/src/http/host-guard.js';

const noNames = hostPolicy([], '');
const listed = hostPolicy(['lab.example.org', '*.class.example.org'], 'https://public.example.com:8443');

describe('hostnameOf', () => {
  const cases: [string, string | undefined][] = [
    ['localhost:3000', 'localhost'],
    ['[::1]:3000', '::1'],
    ['[::1]', '::1'],
    ['127.0.0.1', '127.0.0.1'],
    ['Lab.Example.org:443', 'lab.example.org'],
    [' lab.example.org ', 'lab.example.org'],
    ['[::1', undefined],
    ['[::1]3000', undefined],
    ['[::1]:', undefined],
    ['a:b:c', undefined],
    ['host:99999999', undefined],
    ['host:', undefined],
    [':3000', undefined],
    ['', undefined],
  ];
  for (const [header, expected] of cases) {
    it(`${JSON.stringify(header)} → ${String(expected)}`, () => {
      assert.equal(hostnameOf(header), expected);
    });
  }
});

describe('hostPolicy', () => {
  it('lower-cases the listed names and adds the public URL host', () => {
    assert.deepEqual(hostPolicy(['Lab.Example.ORG'], 'https://Public.Example.com:8443/lab/'), { names: ['lab.example.org', 'public.example.com'] });
    assert.deepEqual(noNames, { names: [] });
  });
});

describe('hostAllowed with no names listed', () => {
  for (const header of [
    'localhost',
    'localhost:3000',
    'foo.localhost:3000',
    'LOCALHOST',
    'localhost.',
    '127.0.0.1',
    '127.0.0.1:3000',
    '10.1.2.3',
    '[::1]',
    '[::1]:3000',
    '[fe80::1]:80',
  ]) {
    it(`allows ${header}`, () => assert.equal(hostAllowed(header, noNames), true));
  }
  for (const header of [
    'rebind.attacker.example',
    'rebind.attacker.example:3000',
    'localhost.attacker.example',
    '127.0.0.1.nip.io',
    '256.0.0.1',
    'lab.example.org',
    '[::1',
    '',
    undefined,
  ]) {
    it(`refuses ${JSON.stringify(header)}`, () => assert.equal(hostAllowed(header, noNames), false));
  }
});

describe('hostAllowed with listed names and a public URL', () => {
  const cases: [string, boolean][] = [
    ['lab.example.org', true],
    ['lab.example.org:3000', true],
    ['LAB.Example.Org', true],
    ['lab.example.org.', true],
    ['lab.example.org.:443', true],
    ['room1.class.example.org', true],
    ['a.b.class.example.org:443', true],
    ['ROOM1.CLASS.EXAMPLE.ORG.', true],
    ['public.example.com', true],
    ['public.example.com:8443', true],
    ['localhost:3000', true],
    ['class.example.org', false],
    ['evilclass.example.org', false],
    ['sub.lab.example.org', false],
    ['lab.example.org.attacker.example', false],
    ['example.com', false],
    ['rebind.attacker.example', false],
  ];
  for (const [header, expected] of cases) {
    it(`${header}: ${expected}`, () => assert.equal(hostAllowed(header, listed), expected));
  }
});

describe('originAllowed', () => {
  const cases: [string | undefined, boolean][] = [
    ['http://127.0.0.1:3000', true],
    ['http://localhost:3000', true],
    ['http://[::1]:3000', true],
    ['https://lab.example.org', true],
    ['https://room1.class.example.org', true],
    ['https://public.example.com:8443', true],
    ['null', false],
    [undefined, false],
    ['', false],
    ['file://', false],
    ['file:///etc/passwd', false],
    ['ftp://127.0.0.1', false],
    ['https://evil.example', false],
    ['https://class.example.org', false],
    ['garbage', false],
  ];
  for (const [origin, expected] of cases) {
    it(`${JSON.stringify(origin)}: ${expected}`, () => assert.equal(originAllowed(origin, listed), expected));
  }
});

describe('hostRefusal', () => {
  it('names the refused value and the two settings that allow it', () => {
    assert.equal(
      hostRefusal('Host', 'rebind.attacker.example'),
      'this server does not answer to Host "rebind.attacker.example": only localhost names, IP addresses and the names in IPVS_LAB_ALLOWED_HOSTS or IPVS_LAB_PUBLIC_URL are allowed (the operator can add this one)',
    );
    assert.match(hostRefusal('Origin', 'https://evil.example'), /^this server does not answer to Origin "https:\/\/evil\.example": /);
    assert.match(hostRefusal('Origin', undefined), /^this server does not answer to Origin "": /);
  });
});
