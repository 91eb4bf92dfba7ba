import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ReplayBuffer } from '../../../server/src/terminal/replay-buffer.js';
import { prng } from '../../utils/prng.js';

/** Bytes kept, seen from outside: everything since the oldest kept offset. */
function kept(buffer: ReplayBuffer): string {
  return buffer.since(buffer.start).data;
}

describe('ReplayBuffer', () => {
  it('starts empty at offset 0', () => {
    const buffer = new ReplayBuffer(10);
    assert.equal(buffer.start, 0);
    assert.equal(buffer.end, 0);
    assert.deepEqual(buffer.since(0), { offset: 0, data: '' });
  });

  it('returns the offset of each append and advances end by its length', () => {
    const buffer = new ReplayBuffer(100);
    assert.equal(buffer.append('abc'), 0);
    assert.equal(buffer.append('de'), 3);
    assert.equal(buffer.append(''), 5);
    assert.equal(buffer.append('f'), 5);
    assert.equal(buffer.end, 6);
    assert.equal(buffer.start, 0);
  });

  it('counts UTF-16 code units, as the protocol addresses output', () => {
    const buffer = new ReplayBuffer(100);
    buffer.append('é😀');
    assert.equal(buffer.end, 3);
    assert.deepEqual(buffer.since(1), { offset: 1, data: '😀' });
  });

  it('resumes exactly where a page stopped, across chunk boundaries', () => {
    const buffer = new ReplayBuffer(100);
    buffer.append('hello ');
    buffer.append('world');
    buffer.append('!\r\n');
    assert.deepEqual(buffer.since(0), { offset: 0, data: 'hello world!\r\n' });
    assert.deepEqual(buffer.since(6), { offset: 6, data: 'world!\r\n' });
    assert.deepEqual(buffer.since(8), { offset: 8, data: 'rld!\r\n' });
    assert.deepEqual(buffer.since(13), { offset: 13, data: '\n' });
  });

  it('answers a page that is up to date, or claims to be ahead, with nothing from the end', () => {
    const buffer = new ReplayBuffer(100);
    buffer.append('abcdef');
    assert.deepEqual(buffer.since(6), { offset: 6, data: '' });
    assert.deepEqual(buffer.since(1000), { offset: 6, data: '' });
  });

  it('drops whole old chunks when full and reports what a late page missed as a gap', () => {
    const buffer = new ReplayBuffer(8);
    buffer.append('aaaa'); // 0-3
    buffer.append('bbbb'); // 4-7
    buffer.append('cccc'); // 8-11: 12 > 8, so "aaaa" goes
    assert.equal(buffer.start, 4);
    assert.equal(buffer.end, 12);
    assert.deepEqual(buffer.since(0), { offset: 4, data: 'bbbbcccc', gap: { from: 0, to: 4 } });
    assert.deepEqual(buffer.since(3), { offset: 4, data: 'bbbbcccc', gap: { from: 3, to: 4 } });
    assert.deepEqual(buffer.since(4), { offset: 4, data: 'bbbbcccc' });
    assert.deepEqual(buffer.since(9), { offset: 9, data: 'ccc' });
  });

  it('trims inside the oldest chunk to stay exactly at capacity', () => {
    const buffer = new ReplayBuffer(10);
    buffer.append('0123456'); // 0-6
    buffer.append('789ab'); // 7-11: 2 over
    assert.equal(buffer.start, 2);
    assert.equal(kept(buffer), '23456789ab');
    assert.equal(kept(buffer).length, 10);
    assert.deepEqual(buffer.since(1), { offset: 2, data: '23456789ab', gap: { from: 1, to: 2 } });
  });

  it('keeps only the tail of one append larger than the whole capacity', () => {
    const buffer = new ReplayBuffer(5);
    buffer.append('xy');
    assert.equal(buffer.append('0123456789'), 2);
    assert.equal(buffer.end, 12);
    assert.equal(buffer.start, 7);
    assert.equal(kept(buffer), '56789');
    assert.deepEqual(buffer.since(2), { offset: 7, data: '56789', gap: { from: 2, to: 7 } });
    assert.deepEqual(buffer.since(10), { offset: 10, data: '89' });
  });

  it('rejects a capacity that is not positive', () => {
    for (const capacity of [0, -1, -0.5, Number.NaN]) {
      assert.throws(
        () => new ReplayBuffer(capacity),
        (e: unknown) => e instanceof RangeError && e.message === `replay buffer capacity must be positive, got ${capacity}`,
        String(capacity),
      );
    }
  });

  it('works with a capacity of one code unit', () => {
    const buffer = new ReplayBuffer(1);
    buffer.append('abc');
    buffer.append('d');
    assert.equal(kept(buffer), 'd');
    assert.deepEqual(buffer.since(0), { offset: 3, data: 'd', gap: { from: 0, to: 3 } });
  });

  it('property: since(from) is the matching slice of the whole history, or says what is gone', () => {
    const random = prng(20_240_611);
    const int = (n: number) => Math.floor(random() * n);
    for (let round = 0; round < 200; round++) {
      const capacity = 1 + int(64);
      const buffer = new ReplayBuffer(capacity);
      let history = '';
      const appends = int(30);
      for (let i = 0; i < appends; i++) {
        // Mostly short writes, now and then one larger than the buffer.
        const length = random() < 0.1 ? capacity + int(2 * capacity) : int(12);
        const chunk = Array.from({ length }, () => String.fromCharCode(33 + int(90))).join('');
        assert.equal(buffer.append(chunk), history.length);
        history += chunk;

        assert.equal(buffer.end, history.length);
        assert.ok(buffer.end - buffer.start <= capacity, `kept ${buffer.end - buffer.start} > capacity ${capacity}`);
        // Nothing is dropped before it must be: the buffer is full, or holds everything.
        assert.equal(buffer.end - buffer.start, Math.min(capacity, history.length));
        assert.equal(kept(buffer), history.slice(buffer.start));

        for (let probe = 0; probe < 5; probe++) {
          const from = int(history.length + 5);
          const got = buffer.since(from);
          const context = `capacity ${capacity}, history ${history.length}, start ${buffer.start}, from ${from}`;
          if (from >= history.length) {
            assert.deepEqual(got, { offset: history.length, data: '' }, context);
          } else if (from < buffer.start) {
            assert.deepEqual(got, { offset: buffer.start, data: history.slice(buffer.start), gap: { from, to: buffer.start } }, context);
          } else {
            assert.deepEqual(got, { offset: from, data: history.slice(from) }, context);
          }
        }
      }
    }
  });
});
