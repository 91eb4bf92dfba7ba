import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlowControl, HIGH_WATERMARK, LOW_WATERMARK } from '../../../server/src/terminal/flow-control.js';
import { prng } from '../../utils/prng.js';

function recorder(startOffset = 0, high = 100, low = 20) {
  const events: string[] = [];
  const flow = new FlowControl(
    startOffset,
    () => events.push('pause'),
    () => events.push('resume'),
    high,
    low,
  );
  return { flow, events };
}

describe('FlowControl', () => {
  it('uses the documented watermarks by default', () => {
    assert.equal(HIGH_WATERMARK, 2 * 1024 * 1024);
    assert.equal(LOW_WATERMARK, 512 * 1024);
    assert.throws(
      () =>
        new FlowControl(
          0,
          () => undefined,
          () => undefined,
          10,
          10,
        ),
      /low watermark 10 must be below the high watermark 10/,
    );
  });

  it('pauses once above the high watermark and resumes only below the low one', () => {
    const { flow, events } = recorder();
    flow.sentUpTo(100);
    assert.deepEqual(events, [], 'exactly at the watermark is not above it');
    flow.sentUpTo(101);
    assert.deepEqual(events, ['pause']);
    flow.sentUpTo(150);
    assert.deepEqual(events, ['pause'], 'no second pause');
    flow.ack(120); // 30 unacked: between the watermarks, still paused
    assert.equal(flow.isPaused, true);
    assert.deepEqual(events, ['pause']);
    flow.ack(131); // 19 unacked
    assert.deepEqual(events, ['pause', 'resume']);
    assert.equal(flow.unacked, 19);
  });

  it('counts from where the page joined, ignores stale acks and clamps acks beyond what was sent', () => {
    const { flow, events } = recorder(1000);
    flow.sentUpTo(1050);
    assert.equal(flow.unacked, 50);
    flow.ack(900);
    assert.equal(flow.unacked, 50);
    flow.ack(5000);
    assert.equal(flow.unacked, 0);
    flow.sentUpTo(1040); // older than what was sent: nothing changes
    assert.equal(flow.unacked, 0);
    assert.deepEqual(events, []);
  });

  it('release resumes a paused shell once, and does nothing otherwise', () => {
    const { flow, events } = recorder();
    flow.release();
    assert.deepEqual(events, []);
    flow.sentUpTo(500);
    flow.release();
    flow.release();
    assert.deepEqual(events, ['pause', 'resume']);
  });

  it('never lets unacked output grow past high + one chunk before pausing (random traffic)', () => {
    const rand = prng(7);
    const { flow } = recorder(0, 10_000, 2_000);
    let sent = 0;
    let acked = 0;
    for (let i = 0; i < 10_000; i++) {
      if (!flow.isPaused && rand() < 0.6) {
        const chunk = Math.floor(rand() * 4096) + 1;
        sent += chunk;
        flow.sentUpTo(sent);
        assert.ok(flow.unacked <= 10_000 + chunk);
      } else {
        acked = Math.min(sent, acked + Math.floor(rand() * 3000));
        flow.ack(acked);
      }
      assert.equal(flow.isPaused, flow.isPaused && flow.unacked >= 2_000);
    }
  });
});
