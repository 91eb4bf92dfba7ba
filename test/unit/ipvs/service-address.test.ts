import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { formatEndpoint, formatService, parseEndpoint, parseServiceAddress, PROTOCOL_FLAG } from '../../../server/src/ipvs/service-address.js';

describe('parseServiceAddress', () => {
  it('parses TCP, UDP and SCTP services the way ipvsadm -L -n prints them', () => {
    assert.deepEqual(parseServiceAddress('TCP 172.17.0.2:80'), { protocol: 'TCP', address: '172.17.0.2', port: 80 });
    assert.deepEqual(parseServiceAddress('UDP 172.17.0.2:53'), { protocol: 'UDP', address: '172.17.0.2', port: 53 });
    assert.deepEqual(parseServiceAddress('SCTP 10.0.0.1:9'), { protocol: 'SCTP', address: '10.0.0.1', port: 9 });
  });

  it('tolerates surrounding and repeated whitespace, as ipvsadm prints two spaces', () => {
    assert.deepEqual(parseServiceAddress('  TCP  172.17.0.2:80 '), { protocol: 'TCP', address: '172.17.0.2', port: 80 });
    assert.deepEqual(parseServiceAddress('UDP\t10.0.0.1:53'), { protocol: 'UDP', address: '10.0.0.1', port: 53 });
  });

  it('accepts the port limits 1 and 65535', () => {
    assert.equal(parseServiceAddress('TCP 10.0.0.1:1').port, 1);
    assert.equal(parseServiceAddress('TCP 10.0.0.1:65535').port, 65535);
  });

  it('parses bracketed IPv6 into the canonical compressed form', () => {
    assert.deepEqual(parseServiceAddress('TCP [::1]:80'), { protocol: 'TCP', address: '::1', port: 80 });
    assert.deepEqual(parseServiceAddress('UDP [2001:DB8:0:0:0:0:0:10]:53'), { protocol: 'UDP', address: '2001:db8::10', port: 53 });
    assert.deepEqual(parseServiceAddress('TCP [::ffff:10.0.0.1]:443'), { protocol: 'TCP', address: '::ffff:10.0.0.1', port: 443 });
  });

  it('treats every spelling of an IPv6 address as the same service', () => {
    const canonical = parseServiceAddress('TCP [::1]:80');
    for (const spelling of ['[0:0:0:0:0:0:0:1]', '[0000:0000:0000:0000:0000:0000:0000:0001]', '[::0:1]', '[0::1]']) {
      assert.deepEqual(parseServiceAddress(`TCP ${spelling}:80`), canonical, spelling);
    }
    assert.notDeepEqual(parseServiceAddress('TCP [::2]:80'), canonical);
  });

  it('rejects text that is not of the form "TCP 10.0.0.1:80", quoting it', () => {
    for (const text of [
      '',
      'TCP',
      'TCP 1.2.3.4',
      'tcp 1.2.3.4:80',
      'FWM 7',
      'HTTP 1.2.3.4:80',
      'TCP ::1:80',
      'TCP host:80',
      'TCP 1.2.3.4:80 rr',
      'TCP 1.2.3.4:123456',
    ]) {
      assert.throws(() => parseServiceAddress(text), { message: `service ${JSON.stringify(text)} is not of the form "TCP 10.0.0.1:80"` }, text);
    }
  });

  it('rejects ports outside 1-65535, naming the port', () => {
    assert.throws(() => parseServiceAddress('TCP 1.2.3.4:0'), { message: 'service "TCP 1.2.3.4:0" has port 0, outside 1-65535' });
    assert.throws(() => parseServiceAddress('TCP 1.2.3.4:65536'), { message: 'service "TCP 1.2.3.4:65536" has port 65536, outside 1-65535' });
    assert.throws(() => parseServiceAddress('UDP [::1]:99999'), { message: 'service "UDP [::1]:99999" has port 99999, outside 1-65535' });
  });

  it('rejects addresses that only look like addresses', () => {
    for (const text of ['TCP 256.1.1.1:80', 'TCP 1.2.3:80', 'TCP 1.2.3.4.5:80', 'TCP [1::2::3]:80', 'TCP [12345::1]:80', 'TCP [:::]:80']) {
      assert.throws(() => parseServiceAddress(text), { message: `${JSON.stringify(text)} does not hold a valid IP address` }, text);
    }
  });
});

describe('parseEndpoint', () => {
  it('parses IPv4 and IPv6 real server endpoints', () => {
    assert.deepEqual(parseEndpoint('10.20.0.11:80'), { address: '10.20.0.11', port: 80 });
    assert.deepEqual(parseEndpoint(' [::2]:80 '), { address: '::2', port: 80 });
    assert.deepEqual(parseEndpoint('[0000:0000:0000:0000:0000:0000:0000:0002]:8080'), { address: '::2', port: 8080 });
  });

  it('accepts port 0, which real servers of firewall-mark services have', () => {
    assert.deepEqual(parseEndpoint('10.20.0.11:0'), { address: '10.20.0.11', port: 0 });
  });

  it('rejects endpoints without a port or with a hostname, quoting them', () => {
    for (const text of ['10.20.0.11', '[::1]', 'nginx-1:80', '::1:80', 'TCP 10.20.0.11:80', '']) {
      assert.throws(() => parseEndpoint(text), { message: `endpoint ${JSON.stringify(text)} is not of the form "10.0.0.1:80"` }, text);
    }
    assert.throws(() => parseEndpoint('300.0.0.1:80'), { message: '"300.0.0.1:80" does not hold a valid IP address' });
  });
});

describe('formatting', () => {
  it('brackets IPv6 addresses and leaves IPv4 bare', () => {
    assert.equal(formatEndpoint('10.20.0.11', 80), '10.20.0.11:80');
    assert.equal(formatEndpoint('::2', 80), '[::2]:80');
    assert.equal(formatService({ protocol: 'UDP', address: '172.17.0.2', port: 53 }), 'UDP 172.17.0.2:53');
    assert.equal(formatService({ protocol: 'TCP', address: '::1', port: 80 }), 'TCP [::1]:80');
  });

  it('round-trips parse → format → parse', () => {
    for (const text of ['TCP 172.17.0.2:80', 'UDP [::1]:53', 'SCTP 10.0.0.1:9']) {
      assert.equal(formatService(parseServiceAddress(text)), text);
    }
    assert.equal(formatService(parseServiceAddress('TCP [0:0:0:0:0:0:0:1]:80')), 'TCP [::1]:80');
  });

  it('maps each protocol to the ipvsadm flag a learner types', () => {
    assert.deepEqual(PROTOCOL_FLAG, { TCP: '-t', UDP: '-u', SCTP: '--sctp-service', FWM: '-f' });
  });
});
