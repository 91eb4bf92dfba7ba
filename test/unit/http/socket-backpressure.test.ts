import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { SOCKET_HARD_LIMIT, SOCKET_HIGH, SOCKET_LOW, SocketBackpressure } from '../../../server/src/http/socket-backpressure.js';

function recorder(high = 100, low = 20, hardLimit = 1000) {
  const events: string[] = [];
  const backpressure = new SocketBackpressure(
    () => events.push('hold'),
    () => events.push('release'),
    high,
    low,
    hardLimit,
  );
  return { backpressure, events };
}

describe('SocketBackpressure', () => {
  it('uses the documented bounds by default', () => {
    assert.equal(SOCKET_HIGH, 1024 * 1024);
    assert.equal(SOCKET_LOW, 256 * 1024);
    assert.equal(SOCKET_HARD_LIMIT, 16 * 1024 * 1024);
    const events: string[] = [];
    const backpressure = new SocketBackpressure(
      () => events.push('hold'),
      () => events.push('release'),
    );
    assert.equal(backpressure.sent(SOCKET_HIGH), 'ok');
    assert.deepEqual(events, []);
    assert.equal(backpressure.sent(SOCKET_HIGH + 1), 'ok');
    assert.deepEqual(events, ['hold']);
    backpressure.flushed(SOCKET_LOW);
    assert.deepEqual(events, ['hold']);
    backpressure.flushed(SOCKET_LOW - 1);
    assert.deepEqual(events, ['hold', 'release']);
    assert.equal(backpressure.sent(SOCKET_HARD_LIMIT), 'ok');
    assert.equal(backpressure.sent(SOCKET_HARD_LIMIT + 1), 'overflow');
  });

  it('holds once above high, and not again while held', () => {
    const { backpressure, events } = recorder();
    assert.equal(backpressure.sent(100), 'ok');
    assert.equal(backpressure.isHolding, false, 'exactly at high is not above it');
    assert.deepEqual(events, []);
    assert.equal(backpressure.sent(101), 'ok');
    assert.equal(backpressure.isHolding, true);
    assert.equal(backpressure.sent(500), 'ok');
    assert.equal(backpressure.sent(150), 'ok');
    assert.deepEqual(events, ['hold']);
  });

  it('releases only below low (hysteresis), then may hold again', () => {
    const { backpressure, events } = recorder();
    backpressure.sent(101);
    for (const buffered of [99, 50, 21, 20]) {
      backpressure.flushed(buffered);
      assert.equal(backpressure.isHolding, true, `still held at ${buffered}`);
    }
    assert.deepEqual(events, ['hold']);
    backpressure.flushed(19);
    assert.equal(backpressure.isHolding, false);
    backpressure.flushed(0);
    assert.deepEqual(events, ['hold', 'release'], 'no second release');
    backpressure.sent(101);
    assert.deepEqual(events, ['hold', 'release', 'hold']);
  });

  it('does not release what it never held', () => {
    const { backpressure, events } = recorder();
    backpressure.sent(50);
    backpressure.flushed(0);
    assert.deepEqual(events, []);
  });

  it('reports overflow above the hard limit', () => {
    const { backpressure } = recorder();
    assert.equal(backpressure.sent(1000), 'ok');
    assert.equal(backpressure.sent(1001), 'overflow');
    assert.equal(backpressure.sent(Number.MAX_SAFE_INTEGER), 'overflow');
  });

  it('releases a hold on dispose exactly once', () => {
    const { backpressure, events } = recorder();
    backpressure.sent(101);
    backpressure.dispose();
    assert.equal(backpressure.isHolding, false);
    backpressure.dispose();
    backpressure.flushed(0);
    assert.deepEqual(events, ['hold', 'release']);
  });

  it('disposes without a hold as a no-op', () => {
    const { backpressure, events } = recorder();
    backpressure.sent(100);
    backpressure.dispose();
    assert.equal(backpressure.isHolding, false);
    assert.deepEqual(events, []);
  });

  it('refuses inconsistent bounds, naming them', () => {
    const cases: [number, number, number][] = [
      [100, 100, 1000],
      [100, 200, 1000],
      [100, 20, 100],
      [100, 20, 50],
    ];
    for (const [high, low, hardLimit] of cases) {
      assert.throws(() => recorder(high, low, hardLimit), { name: 'RangeError', message: `need low ${low} < high ${high} < hard limit ${hardLimit}` });
    }
  });
});
