import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { clockKey, flowOf, orderConnections, secondsInState } from '../../../server/src/ipvs/connection-order.js';
import { parseProcNetIpVsConn, type IpvsConnection } from '../../../server/src/ipvs/parse-proc-net-ip-vs-conn.js';
import { capturedSchedule, kernelFixture } from '../../utils/fixtures.js';
import { prng } from '../../utils/prng.js';

/** The captures' backends: nginx N is 10.20.0.1N. */
const nginxOf = (c: IpvsConnection) => `nginx-${c.destination.address.split('.')[3]!.slice(1)}`;

function conn(port: number, state = 'TIME_WAIT', expiresSeconds = 118, client = '10.0.0.9', destination = '10.20.0.11', virtualPort = 80): IpvsConnection {
  return {
    protocol: 'TCP',
    client: { address: client, port },
    virtual: { address: '10.0.0.1', port: virtualPort },
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

  describe('when Linux moves the client port to a new random place (every ten seconds)', () => {
    // Real ports from the VM's kernel: three connections, then the ten-second boundary, then seven
    // more, 6,000 ports lower. Sorted by port alone, the last seven would come first; the first
    // of them are the same second's as the last before the boundary.
    const before = [conn(53_554, 'TIME_WAIT', 109), conn(53_558, 'TIME_WAIT', 110), conn(53_568, 'TIME_WAIT', 110)];
    const after = [47_594, 47_596, 47_610, 47_614, 47_620, 47_630, 47_636].map((p, i) => conn(p, 'TIME_WAIT', i < 2 ? 110 : i < 5 ? 111 : 112));
    const ports = (cs: IpvsConnection[]) => cs.map((c) => c.client.port);

    it('keeps each run of close ports in port order and puts the older run first', () => {
      assert.deepEqual(ports(orderConnections(shuffle([...after, ...before], prng(3)))), ports([...before, ...after]));
      // And upwards: the later run has the higher ports.
      const up = [conn(57_550, 'TIME_WAIT', 111), conn(57_562, 'TIME_WAIT', 113)];
      const down = [conn(36_096, 'TIME_WAIT', 109), conn(36_106, 'TIME_WAIT', 110)];
      assert.deepEqual(ports(orderConnections([...up, ...down])), ports([...down, ...up]));
    });

    it('puts first the run that carries on from the last port seen before, when both are the same age', () => {
      const same = (cs: IpvsConnection[]) => cs.map((c) => ({ ...c, expiresSeconds: 119 }));
      const flow = flowOf(before[0]!);
      assert.deepEqual(ports(orderConnections([...same(after), ...same(before)], { lastPorts: new Map([[flow, 53_540]]) })), ports([...before, ...after]));
      assert.deepEqual(ports(orderConnections([...same(after), ...same(before)], { lastPorts: new Map([[flow, 47_580]]) })), ports([...after, ...before]));
    });

    it("reads the client sockets' TIME_WAIT clock, to the hundredth of a second, when both are the same age", () => {
      const same = (cs: IpvsConnection[]) => cs.map((c) => ({ ...c, expiresSeconds: 119 }));
      const clock = (cs: IpvsConnection[], first: number) => cs.map((c, i) => [clockKey(c.client, c.virtual), first + i] as const);
      const timeWaitLeft = new Map([...clock(before, 5_930), ...clock(after, 5_945)]);
      assert.deepEqual(ports(orderConnections([...same(after), ...same(before)], { timeWaitLeft })), ports([...before, ...after]));
    });
  });

  it('does not take a connection the kernel has not timed yet (0 s left) for the oldest', () => {
    const ordered = orderConnections([conn(40_010, 'SYN_RECV', 0), conn(40_000, 'TIME_WAIT', 119), conn(40_004, 'TIME_WAIT', 119)]);
    assert.deepEqual(
      ordered.map((c) => c.client.port),
      [40_000, 40_004, 40_010],
    );
    // Alone in a run of its own, too: 0 left is no age, not the whole timeout.
    const alone = orderConnections([conn(50_010, 'SYN_RECV', 0), conn(40_000, 'TIME_WAIT', 118)]);
    assert.deepEqual(
      alone.map((c) => c.client.port),
      [40_000, 50_010],
    );
  });

  it('numbers ports per virtual address: two services of one client are two flows', () => {
    // Each destination has its own place in the port range: interleaved ports, each flow in order.
    const a = [conn(40_000, 'TIME_WAIT', 117, undefined, undefined, 80), conn(40_010, 'TIME_WAIT', 118, undefined, undefined, 80)];
    const b = [conn(40_004, 'TIME_WAIT', 116, undefined, undefined, 8080), conn(40_020, 'TIME_WAIT', 119, undefined, undefined, 8080)];
    const ordered = orderConnections([...b, ...a]);
    assert.deepEqual(
      ordered.map((c) => `${c.virtual.port}/${c.client.port}`),
      ['8080/40004', '80/40000', '80/40010', '8080/40020'],
    );
  });
});
