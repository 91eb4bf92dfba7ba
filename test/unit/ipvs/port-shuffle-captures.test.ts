/**
 * The panel's connection order replayed on the VM kernel's captures (test/fixtures/ipvs/
 * port-shuffle): ten sequential curls to an rr service, read every 0.1-0.3 s while they ran. Each
 * capture has something that sorting by port or by age gets wrong: the client port moving to a
 * new random place at the ten-second boundary, up or down, or a connection listed before the
 * kernel timed it. Every spacing and phase of readings must give the order the replies came in.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import { PROJECT_ROOT } from '../../../server/src/config.js';
import { ConnectionHistory } from '../../../server/src/ipvs/panel-table.js';
import { parseIpvsadmList } from '../../../server/src/ipvs/parse-ipvsadm-list.js';
import { parseProcNetIpVsConn, type IpvsConnection } from '../../../server/src/ipvs/parse-proc-net-ip-vs-conn.js';
import { parseTimeWaitClock } from '../../../server/src/ipvs/time-wait-clock.js';
import { fixture } from '../../utils/fixtures.js';

interface Capture {
  readonly replies: readonly string[];
  readonly key: string;
  readonly backends: ReadonlyMap<string, string>;
  readonly listing: string;
  readonly snapshots: readonly { readonly connections: IpvsConnection[]; readonly clock: Map<string, number> }[];
}

function readCapture(name: string): Capture {
  const text = fixture(path.join('port-shuffle', name));
  const replies = [.../^# replies: (.*)$/m.exec(text)![1]!.matchAll(/nginx (\d)/g)].map((m) => `nginx-${m[1]!}`);
  const [, address, port, one, two] = /^# virtual service: TCP ([\d.]+):(\d+); nginx 1 = ([\d.]+), nginx 2 = ([\d.]+)$/m.exec(text)!;
  const listing = [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
    `TCP  ${address!}:${port!} rr`,
    `  -> ${one!}:80                 Masq    1      0          0`,
    `  -> ${two!}:80                 Masq    1      0          0`,
  ].join('\n');
  const snapshots = text
    .split(/^@@ .*$/m)
    .slice(1)
    .map((chunk) => {
      const [conns = '', sockets = ''] = chunk.split(/^@T$/m);
      return { connections: parseProcNetIpVsConn(conns), clock: parseTimeWaitClock(sockets) };
    });
  return {
    replies,
    key: `TCP ${address!}:${port!}`,
    backends: new Map([
      [`${one!}:80`, 'nginx-1'],
      [`${two!}:80`, 'nginx-2'],
    ]),
    listing,
    snapshots,
  };
}

/** What the panel shows after reading the snapshots numbered `at`, in turn. */
function replay(capture: Capture, at: readonly number[], withClock: boolean): string[] {
  const services = parseIpvsadmList(capture.listing).services;
  const history = new ConnectionHistory();
  let shown: readonly { server: string }[] = [];
  for (const i of at) {
    const { connections, clock } = capture.snapshots[i]!;
    shown = history.update(services, connections, withClock ? clock : new Map()).recent.get(capture.key) ?? [];
  }
  return shown.map((c) => capture.backends.get(c.server) ?? c.server);
}

/** Every `every`-th snapshot from `phase`, and always the last (when all ten are in). */
function schedule(count: number, every: number, phase: number): number[] {
  const at: number[] = [];
  for (let i = phase; i < count; i += every) at.push(i);
  if (at.at(-1) !== count - 1) at.push(count - 1);
  return at;
}

const captures = readdirSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'ipvs', 'port-shuffle')).filter((f) => f.endsWith('.txt'));

describe('connection order on the kernel captures across the port shuffle', () => {
  it('has the captures', () => assert.ok(captures.length >= 6, captures.join(', ')));

  for (const name of captures) {
    it(`${name}: every spacing and phase of readings gives the order of the replies`, () => {
      const capture = readCapture(name);
      assert.equal(capture.replies.length, 10);
      const last = capture.snapshots.at(-1)!.connections.filter((c) => c.client.port !== 0);
      assert.equal(last.length, 10, 'all ten connections are in the last snapshot');
      // The capture has what it is named for: the port moving to a new place (a gap far wider than
      // Linux's steps of 2 to 16), or a connection listed before the kernel timed it (0 s left).
      const ports = last.map((c) => c.client.port).sort((a, b) => a - b);
      const shuffled = ports.some((p, i) => i > 0 && p - ports[i - 1]! > 1000);
      const untimed = capture.snapshots.some((s) => s.connections.some((c) => c.expiresSeconds === 0));
      assert.ok(name.startsWith('untimed') ? untimed : shuffled, `${name} has no ${name.startsWith('untimed') ? 'untimed connection' : 'shuffle'} in it`);

      const withClock = capture.snapshots.some((s) => s.clock.size > 0);
      for (const clock of withClock ? [true, false] : [false]) {
        for (const every of [1, 2, 3, 5, 8, 13, capture.snapshots.length]) {
          for (let phase = 0; phase < every; phase++) {
            const at = schedule(capture.snapshots.length, every, phase);
            assert.deepEqual(
              replay(capture, at, clock),
              capture.replies,
              `readings at snapshots ${at.join(' ')}, ${clock ? 'with' : 'without'} the TIME_WAIT clock`,
            );
          }
        }
      }
    });
  }
});
