import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { orderConnections, secondsInState } from '../../../server/src/ipvs/connection-order.js';
import { parseProcNetIpVsConn, type IpvsConnection } from '../../../server/src/ipvs/parse-proc-net-ip-vs-conn.js';
import { capturedSchedule, kernelFixture } from '../../utils/fixtures.js';
import { prng } from '../../utils/prng.js';

/** The captures' backends: nginx N is 10.20.0.1N. */
const nginxOf = (c: IpvsConnection) => `nginx-${c.destination.address.split('.')[3]!.slice(1)}`;

function conn(port: number, state = 'TIME_WAIT', expiresSeconds = 118, client = '10.0.0.9', destination = '10.20.0.11'): IpvsConnection {
  return {
    protocol: 'TCP',
    client: { address: client, port },
    virtual: { address: '10.0.0.1', port: 80 },
    destination: { address: destination, port: 80 },
    state,
    expiresSeconds,
  };
}

/** Fisher-Yates with a seeded generator. */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

describe('orderConnections', () => {
  const captured = parseProcNetIpVsConn(kernelFixture('rr-masq.proc-net-ip_vs_conn.txt'));

  it('recovers the order of the captured rr run from the hash-ordered connection table', () => {
    // The capture lists the ten connections in hash order (nginx 2, 2, 1, 1, 1, ...); the kernel's
    // real answers, in order, were nginx 2, 1, 2, 1, ...
    assert.notDeepEqual(captured.map(nginxOf), capturedSchedule('rr'));
    assert.deepEqual(orderConnections(captured).map(nginxOf), capturedSchedule('rr'));
  });

  it('does not depend on the order the table lists them in', () => {
    const random = prng(7);
    for (let i = 0; i < 20; i++) assert.deepEqual(orderConnections(shuffle([...captured], random)).map(nginxOf), capturedSchedule('rr'));
  });

  it('puts an older second first, whatever the ports', () => {
    const older = conn(40_000, 'TIME_WAIT', 110);
    const newer = conn(30_000, 'TIME_WAIT', 119);
    assert.deepEqual(orderConnections([newer, older]), [older, newer]);
  });

  it('follows a client port range that wrapped round', () => {
    const ports = [60_990, 60_996, 32_770, 32_774];
    const ordered = orderConnections([conn(32_774), conn(60_996), conn(32_770), conn(60_990)]);
    assert.deepEqual(
      ordered.map((c) => c.client.port),
      ports,
    );
  });

  it('compares states by how long each has been in its own', () => {
    // Held open for ten seconds, against one that closed two seconds ago.
    const held = conn(50_000, 'ESTABLISHED', 890);
    const closed = conn(40_000, 'TIME_WAIT', 118);
    assert.equal(secondsInState(held), 10);
    assert.equal(secondsInState(closed), 2);
    assert.deepEqual(orderConnections([closed, held]), [held, closed]);
  });

  it('keeps each client in port order when two clients share a second', () => {
    const a = [conn(41_000, 'TIME_WAIT', 118, '10.0.0.8'), conn(41_002, 'TIME_WAIT', 118, '10.0.0.8')];
    const b = [conn(33_000, 'TIME_WAIT', 118, '10.0.0.9'), conn(33_004, 'TIME_WAIT', 118, '10.0.0.9')];
    const ordered = orderConnections([b[1]!, a[1]!, b[0]!, a[0]!]);
    assert.deepEqual(ordered, [...a, ...b]);
  });

  it('gives a state it does not know no age rather than failing', () => {
    assert.equal(secondsInState(conn(1, 'SCTP_COOKIE_ECHOED', 5)), 0);
    assert.equal(orderConnections([]).length, 0);
  });
});
