import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BATCH_WINDOW_MS, FLOOD_CHUNK, MAX_CHUNK, OutputBatcher, type BatchClock } from '../../../server/src/terminal/output-batcher.js';
import { prng } from '../../utils/prng.js';

/** A clock whose time moves only when the test says so; due timers fire in order as it does. */
class FakeClock implements BatchClock {
  private time = 1000;
  private nextId = 0;
  private readonly timers = new Map<number, { readonly due: number; readonly fn: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    // Ids start at 0 on purpose: the batcher must not mistake a falsy handle for "no timer".
    const id = this.nextId++;
    this.timers.set(id, { due: this.time + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const [id, next] = [...this.timers].sort(([, a], [, b]) => a.due - b.due)[0] ?? [];
      if (id === undefined || next === undefined || next.due > end) break;
      this.timers.delete(id);
      this.time = Math.max(this.time, next.due);
      next.fn();
    }
    this.time = end;
  }
}

function setup() {
  const clock = new FakeClock();
  const emitted: string[] = [];
  const batcher = new OutputBatcher((data) => emitted.push(data), clock);
  return { clock, emitted, batcher };
}

/** A pty read's worth of output: enough to count as flooding. */
const flood = (tag: string) => tag.repeat(FLOOD_CHUNK);

describe('OutputBatcher', () => {
  it('keeps the documented limits', () => {
    assert.equal(MAX_CHUNK, 64 * 1024);
    assert.equal(BATCH_WINDOW_MS, 4);
    assert.equal(FLOOD_CHUNK, 1024);
  });

  it('emits a keystroke echo at once after a quiet spell, and after a small chunk', () => {
    const { clock, emitted, batcher } = setup();
    batcher.push('l');
    assert.deepEqual(emitted, ['l']);
    batcher.push('s'); // right after a small flush: still at once
    assert.deepEqual(emitted, ['l', 's']);
    batcher.push(flood('a'));
    clock.advance(1000);
    batcher.push('\r\n'); // a quiet spell after a large flush
    assert.deepEqual(emitted, ['l', 's', flood('a'), '\r\n']);
    assert.equal(clock.pendingTimers, 0);
  });

  it('batches a flood into one emit per window, sent when the window ends', () => {
    const { clock, emitted, batcher } = setup();
    batcher.push(flood('a')); // the first chunk goes out at once: nothing said it floods yet
    assert.deepEqual(emitted, [flood('a')]);
    clock.advance(1);
    batcher.push(flood('b'));
    clock.advance(1);
    batcher.push(flood('c'));
    assert.deepEqual(emitted, [flood('a')], 'held back within the window');
    assert.equal(clock.pendingTimers, 1);
    clock.advance(BATCH_WINDOW_MS - 3);
    assert.deepEqual(emitted, [flood('a')], 'one millisecond before the window ends');
    clock.advance(1);
    assert.deepEqual(emitted, [flood('a'), flood('b') + flood('c')]);
    assert.equal(clock.pendingTimers, 0);
    // The batch was large, so the next window batches again.
    clock.advance(1);
    batcher.push('d');
    batcher.push('e');
    assert.deepEqual(emitted.slice(2), []);
    clock.advance(BATCH_WINDOW_MS);
    assert.deepEqual(emitted.slice(2), ['de']);
  });

  it('emits at once when pending reaches MAX_CHUNK, without waiting for the window', () => {
    const { clock, emitted, batcher } = setup();
    batcher.push(flood('a'));
    const pieces = MAX_CHUNK / FLOOD_CHUNK;
    for (let i = 0; i < pieces - 1; i++) batcher.push(flood('b'));
    assert.equal(emitted.length, 1, 'one chunk short of MAX_CHUNK: still pending');
    batcher.push(flood('b'));
    assert.equal(emitted.length, 2);
    assert.equal(emitted[1], 'b'.repeat(MAX_CHUNK));
    assert.equal(clock.pendingTimers, 0, 'the window timer is cancelled');
  });

  it('flush() emits what is pending at once (the shell exited)', () => {
    const { clock, emitted, batcher } = setup();
    batcher.push(flood('a'));
    batcher.push('bye');
    assert.deepEqual(emitted, [flood('a')]);
    batcher.flush();
    assert.deepEqual(emitted, [flood('a'), 'bye']);
    assert.equal(clock.pendingTimers, 0);
    batcher.flush();
    assert.equal(emitted.length, 2, 'nothing pending: nothing emitted');
  });

  it('dispose() drops what is pending, cancels the timer and ignores later output', () => {
    const { clock, emitted, batcher } = setup();
    batcher.push(flood('a'));
    batcher.push('lost');
    assert.equal(clock.pendingTimers, 1);
    batcher.dispose();
    assert.equal(clock.pendingTimers, 0);
    clock.advance(1000);
    batcher.push('after');
    batcher.flush();
    assert.deepEqual(emitted, [flood('a')]);
    assert.equal(clock.pendingTimers, 0);
  });

  it('loses, repeats and reorders nothing across random pushes and clock advances', () => {
    const rand = prng(42);
    const { clock, emitted, batcher } = setup();
    const pushed: string[] = [];
    let batched = 0;
    for (let i = 0; i < 5000; i++) {
      const roll = rand();
      if (roll < 0.6) {
        // Small echoes and flood-sized reads, each unique so reordering would show.
        const size = rand() < 0.5 ? 1 + Math.floor(rand() * 20) : FLOOD_CHUNK + Math.floor(rand() * 3 * FLOOD_CHUNK);
        const data = `<${i}>`.padEnd(size, '.');
        pushed.push(data);
        const before = emitted.length;
        batcher.push(data);
        if (emitted.length === before) batched++;
      } else if (roll < 0.95) {
        clock.advance(Math.floor(rand() * 2 * BATCH_WINDOW_MS));
      } else {
        batcher.flush();
      }
    }
    batcher.flush();
    // Below MAX_CHUNK before the last push, which is under 4 * FLOOD_CHUNK.
    for (const chunk of emitted) assert.ok(chunk.length > 0 && chunk.length < MAX_CHUNK + 4 * FLOOD_CHUNK, `a chunk of ${chunk.length}`);
    assert.ok(batched > 100, `only ${batched} pushes were batched: the sequence does not exercise batching`);
    assert.ok(emitted.length < pushed.length, `${emitted.length} emits for ${pushed.length} pushes`);
    assert.equal(emitted.join(''), pushed.join(''));
    assert.equal(clock.pendingTimers, 0);
  });
});
