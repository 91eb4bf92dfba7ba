import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';

import type { IpvsPanelEvent } from '../../../common/api.js';
import { silentLogger } from '../../../server/src/logger.js';
import { HostDownError, type ExecResult, type RunningEnvironment } from '../../../server/src/runtime/runtime.js';
import { IpvsPanelFeed, ReadSlots } from '../../../server/src/sessions/ipvs-panel-feed.js';
import { kernelFixture } from '../../utils/fixtures.js';

const INTERVAL_MS = 20;

/** What the checker prints for one reading, from the rr capture, with `conns` extra connection lines. */
function reading(conns: readonly string[] = []): string {
  return [
    '@@ services',
    '1',
    '@@ list',
    kernelFixture('rr-masq.ipvsadm-Ln.txt').trimEnd(),
    '@@ stats',
    kernelFixture('rr-masq.ipvsadm-Ln-exact-stats.txt').trimEnd(),
    '@@ conns',
    'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData',
    ...conns,
    '@@ sockets',
  ].join('\n');
}

/**
 * The runtime as the feed sees it, answering the checker's reading with `answer()`. The feed's
 * own logic (when it reads, what it sends) is under test here; reading a real kernel is the
 * integration test's part (test/integration/ipvs-panel.test.ts).
 */
function environment(answer: () => Promise<ExecResult>) {
  const calls: string[] = [];
  const env = {
    sessionId: 's1',
    hosts: new Map([['host', { name: 'host', containerId: 'c1', ip: '172.17.0.2' }]]),
    check: (host: string) => {
      calls.push(host);
      return answer();
    },
  } as unknown as RunningEnvironment;
  return { env, calls };
}

const ok = (stdout: string): Promise<ExecResult> => Promise.resolve({ exitCode: 0, stdout, stderr: '' });
const settings = (slots = new ReadSlots(4)) => ({ intervalMs: INTERVAL_MS, timeoutMs: 1000, retryMs: INTERVAL_MS, slots, log: silentLogger });

function collect(feed: IpvsPanelFeed) {
  const events: IpvsPanelEvent[] = [];
  let ended = 0;
  const subscription = feed.subscribe({ event: (e) => events.push(e), ended: () => ended++ });
  return { events, subscription, ended: () => ended };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

describe('IpvsPanelFeed', () => {
  it('reads nothing until a page listens, and stops reading when the last one leaves', async (t) => {
    const { env, calls } = environment(() => ok(reading()));
    const feed = new IpvsPanelFeed(env, 'host', settings());
    // A failed assertion must not leave the feed reading and the test process running.
    t.after(() => feed.dispose());
    await sleep(5 * INTERVAL_MS);
    assert.equal(calls.length, 0);
    const a = collect(feed);
    const b = collect(feed);
    await until(() => calls.length >= 3, 'three readings');
    a.subscription.dispose();
    await sleep(3 * INTERVAL_MS);
    assert.ok(calls.length >= 5, 'still reading while one page listens');
    b.subscription.dispose();
    await sleep(2 * INTERVAL_MS);
    const stopped = calls.length;
    await sleep(6 * INTERVAL_MS);
    assert.equal(calls.length, stopped, 'no reading after the last page left');
    assert.ok(calls.every((h) => h === 'host'));
  });

  it('sends a reading only when the table changed, and the last one to a page that joins', async (t) => {
    let conns: string[] = [];
    const { env, calls } = environment(() => ok(reading(conns)));
    const feed = new IpvsPanelFeed(env, 'host', settings());
    // A failed assertion must not leave the feed reading and the test process running.
    t.after(() => feed.dispose());
    const first = collect(feed);
    await until(() => calls.length >= 4, 'four readings');
    assert.equal(first.events.length, 1, 'four identical readings make one event');
    conns = ['TCP AC110002 A000 AC110002 0050 0A14000B 0050 TIME_WAIT 119'];
    await until(() => first.events.length === 2, 'the new connection is sent');
    const table = first.events[1]!;
    assert.equal(table.type, 'table');
    assert.deepEqual(table.type === 'table' && table.services[0]!.recent.map((c) => c.server), ['10.20.0.11:80']);
    const late = collect(feed);
    assert.deepEqual(late.events, [table], 'a page that joins gets the last reading at once');
    first.subscription.dispose();
    late.subscription.dispose();
  });

  it('says why the table cannot be read, and goes on reading', async (t) => {
    let answer: () => Promise<ExecResult> = () => Promise.resolve({ exitCode: 3, stdout: '', stderr: '/proc/net/ip_vs is missing' });
    const { env } = environment(() => answer());
    const feed = new IpvsPanelFeed(env, 'host', settings());
    // A failed assertion must not leave the feed reading and the test process running.
    t.after(() => feed.dispose());
    const page = collect(feed);
    await until(() => page.events.length === 1, 'the first event');
    const [missing] = page.events;
    assert.equal(missing?.type, 'unavailable');
    assert.match(missing?.type === 'unavailable' ? missing.message : '', /host has no IPVS table: \/proc\/net\/ip_vs is missing/);
    answer = () => Promise.reject(new HostDownError('the container of host in session s1 is restarting'));
    await until(() => page.events.length === 2, 'the restart is reported');
    assert.match(JSON.stringify(page.events[1]), /restarting/);
    page.subscription.dispose();
  });

  it('tells its pages when it ends, and refuses new ones', (t) => {
    const { env } = environment(() => ok(reading()));
    const feed = new IpvsPanelFeed(env, 'host', settings());
    // A failed assertion must not leave the feed reading and the test process running.
    t.after(() => feed.dispose());
    const page = collect(feed);
    feed.dispose();
    assert.equal(page.ended(), 1);
    assert.throws(() => collect(feed), /has ended/);
  });
});

describe('ReadSlots', () => {
  it('runs at most its size at once, in the order asked', async () => {
    const slots = new ReadSlots(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        slots.run(async () => {
          order.push(i);
          running++;
          most = Math.max(most, running);
          await sleep(10);
          running--;
        }),
      ),
    );
    assert.equal(most, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  });

  it('frees the slot when the work fails', async () => {
    const slots = new ReadSlots(1);
    await assert.rejects(
      slots.run(() => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await slots.run(() => Promise.resolve(7)), 7);
    assert.throws(() => new ReadSlots(0), /positive integer, got 0/);
  });
});
