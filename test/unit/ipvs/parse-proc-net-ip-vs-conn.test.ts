import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { IpvsParseError } from '../../../server/src/ipvs/ipvs-parse-error.js';
import { parseProcNetIpVs } from '../../../server/src/ipvs/parse-proc-net-ip-vs.js';
import { parseProcNetIpVsConn, type IpvsConnection } from '../../../server/src/ipvs/parse-proc-net-ip-vs-conn.js';
import { kernelFixture } from '../../utils/fixtures.js';

const HEADER = 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData';

function parseError(text: string): IpvsParseError {
  try {
    parseProcNetIpVsConn(text);
  } catch (error) {
    assert.ok(error instanceof IpvsParseError, `expected an IpvsParseError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected parseProcNetIpVsConn to throw on ${JSON.stringify(text)}`);
}

/** `172.17.0.2:52498` → { address, port }. */
function endpoint(text: string): { address: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(text);
  assert.ok(m, `not an endpoint: ${text}`);
  return { address: m[1]!, port: Number(m[2]) };
}

/**
 * The entries of `ipvsadm -Lnc` (source, virtual, destination, state and `mm:ss` left), which
 * ipvsadm reads from the kernel over netlink, not from /proc/net/ip_vs_conn.
 */
function ipvsadmConnections(text: string): IpvsConnection[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines[0], 'IPVS connection entries');
  assert.match(lines[1] ?? '', /^pro expire state\s+source\s+virtual\s+destination$/);
  return lines.slice(2).map((line) => {
    const m = /^(\S+)\s+(\d\d):(\d\d)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$/.exec(line);
    assert.ok(m, `not an ipvsadm -Lnc entry: ${line}`);
    return {
      protocol: m[1]!,
      client: endpoint(m[5]!),
      virtual: endpoint(m[6]!),
      destination: endpoint(m[7]!),
      state: m[4]!,
      expiresSeconds: Number(m[2]) * 60 + Number(m[3]),
    };
  });
}

describe('parseProcNetIpVsConn on real kernel 6.1 output', () => {
  const connections = parseProcNetIpVsConn(kernelFixture('rr-masq.proc-net-ip_vs_conn.txt'));

  it('reads the first entry of rr-masq: hex addresses and ports, state, seconds left', () => {
    assert.equal(connections.length, 10);
    assert.deepEqual(connections[0], {
      protocol: 'TCP',
      client: { address: '172.17.0.2', port: 52498 },
      virtual: { address: '172.17.0.2', port: 80 },
      destination: { address: '10.20.0.12', port: 80 },
      state: 'TIME_WAIT',
      expiresSeconds: 118,
    } satisfies IpvsConnection);
  });

  it('agrees entry by entry with ipvsadm -Lnc of the same table', () => {
    const listed = ipvsadmConnections(kernelFixture('rr-masq.ipvsadm-Lnc.txt'));
    assert.equal(connections.length, listed.length);
    const withoutExpiry = ({ expiresSeconds: _, ...rest }: IpvsConnection) => rest;
    assert.deepEqual(connections.map(withoutExpiry), listed.map(withoutExpiry));
    // The two were read a moment apart: the timers may have moved by a second.
    connections.forEach((c, i) => {
      const seconds = listed[i]?.expiresSeconds ?? NaN;
      assert.ok(Math.abs(c.expiresSeconds - seconds) <= 1, `entry ${i + 1}: ${c.expiresSeconds} s here, ${seconds} s in ipvsadm -Lnc`);
    });
  });

  it('counts as many connections per real server as /proc/net/ip_vs has inactive ones', () => {
    const [service] = parseProcNetIpVs(kernelFixture('rr-masq.proc-net-ip_vs.txt')).services;
    for (const real of service?.realServers ?? []) {
      assert.equal(connections.filter((c) => c.destination.address === real.address).length, real.inactiveConns, real.address);
    }
  });
});

describe('parseProcNetIpVsConn', () => {
  it('reads a table with no connections, and empty input, as none', () => {
    assert.deepEqual(parseProcNetIpVsConn(`${HEADER}\n`), []);
    assert.deepEqual(parseProcNetIpVsConn(''), []);
  });

  it('reads IPv6 addresses, which the kernel prints in full, in the canonical form', () => {
    const v6 = '0000:0000:0000:0000:0000:0000:0000:0001';
    const [c] = parseProcNetIpVsConn(`${HEADER}\nTCP ${v6} D2F0 ${v6} 0050 0000:0000:0000:0000:0000:0000:0000:0002 0050 ESTABLISHED     899\n`);
    assert.deepEqual(c, {
      protocol: 'TCP',
      client: { address: '::1', port: 0xd2f0 },
      virtual: { address: '::1', port: 80 },
      destination: { address: '::2', port: 80 },
      state: 'ESTABLISHED',
      expiresSeconds: 899,
    } satisfies IpvsConnection);
  });

  it('reads an entry with a persistence engine and its data after the seconds left', () => {
    const [c] = parseProcNetIpVsConn(`${HEADER}\nUDP AC110002 13C4 AC110002 13C4 0A14000B 13C4 UDP             299 sip 6A31324040\n`);
    assert.equal(c?.protocol, 'UDP');
    assert.equal(c?.state, 'UDP');
    assert.equal(c?.expiresSeconds, 299);
    assert.deepEqual(c?.destination, { address: '10.20.0.11', port: 5060 });
  });

  it('accepts CRLF line ends and blank lines', () => {
    const text = `${HEADER}\r\n\r\nTCP AC110002 CD12 AC110002 0050 0A14000C 0050 TIME_WAIT       118\r\n`;
    assert.deepEqual(
      parseProcNetIpVsConn(text).map((c) => c.client.port),
      [52498],
    );
  });

  it('names the line number and the line of a malformed entry', () => {
    const text = [HEADER, 'TCP AC110002 CD12 AC110002 0050 0A14000C 0050 TIME_WAIT       118', '', 'TCP AC110002 CD14 AC110002 0050 TIME_WAIT 118', ''].join(
      '\n',
    );
    const error = parseError(text);
    assert.equal(error.line, 4);
    assert.equal(error.text, 'TCP AC110002 CD14 AC110002 0050 TIME_WAIT 118');
    assert.equal(
      error.message,
      'line 4 "TCP AC110002 CD14 AC110002 0050 TIME_WAIT 118": expected a connection like "TCP AC110002 CD12 AC110002 0050 0A14000C 0050 TIME_WAIT 118"',
    );
  });

  it('rejects ipvsadm -Lnc output at its first line', () => {
    const error = parseError(kernelFixture('rr-masq.ipvsadm-Lnc.txt'));
    assert.equal(error.line, 1);
    assert.equal(error.text, 'IPVS connection entries');
  });

  it('rejects an address that is none', () => {
    const error = parseError(`${HEADER}\nTCP 1:2:3 CD12 AC110002 0050 0A14000C 0050 TIME_WAIT       118\n`);
    assert.equal(error.line, 2);
    assert.match(error.message, /: "1:2:3" is not an address$/);
  });
});
