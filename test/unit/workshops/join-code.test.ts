import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { JOIN_CODE_ALPHABET, JOIN_CODE_LENGTH, newJoinCode, normalizeJoinCode } from '../../../server/src/workshops/join-code.js';

/** A random source that hands out the given bytes in order, as many as asked for. */
function bytesFrom(values: readonly number[]): { random: (n: number) => Buffer; asked: number[] } {
  let next = 0;
  const asked: number[] = [];
  return {
    asked,
    random: (n) => {
      asked.push(n);
      const out = Buffer.from(values.slice(next, next + n));
      next += n;
      return out;
    },
  };
}

describe('the join code alphabet', () => {
  it('has 31 distinct characters and none that look alike', () => {
    assert.equal(JOIN_CODE_ALPHABET.length, 31);
    assert.equal(new Set(JOIN_CODE_ALPHABET).size, 31);
    for (const c of '0O1IL') assert.equal(JOIN_CODE_ALPHABET.includes(c), false, c);
    assert.equal(JOIN_CODE_LENGTH, 6);
  });
});

describe('newJoinCode', () => {
  it('makes codes of JOIN_CODE_LENGTH characters of the alphabet', () => {
    for (let i = 0; i < 200; i++) {
      const code = newJoinCode();
      assert.match(code, /^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$/);
    }
  });

  it('maps each accepted byte to the alphabet modulo its size', () => {
    assert.equal(newJoinCode(bytesFrom([0, 1, 30, 31, 62, 247]).random), 'AB9AA9');
  });

  it('skips bytes of 248 and above and asks for as many more as it still needs', () => {
    const source = bytesFrom([248, 0, 255, 1, 2, 250, 3, 252, 4, 5]);
    assert.equal(newJoinCode(source.random), 'ABCDEF');
    // 6 asked first, of which 248, 255 and 250 were skipped; then 3, of which 252 was skipped; then 1.
    assert.deepEqual(source.asked, [6, 3, 1]);
  });

  it('picks every letter equally often from evenly spread bytes', () => {
    let counter = 0;
    const cycle = (n: number) => Buffer.from(Array.from({ length: n }, () => counter++ % 256));
    const counts = new Map<string, number>();
    // 124 codes take 744 letters: three full rounds of the 248 accepted byte values.
    for (let i = 0; i < 124; i++) for (const c of newJoinCode(cycle)) counts.set(c, (counts.get(c) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort().join(''), [...JOIN_CODE_ALPHABET].sort().join(''));
    for (const [c, count] of counts) assert.equal(count, 24, c);
  });

  it('refuses a source that returns nothing instead of looping forever', () => {
    assert.throws(() => newJoinCode(() => Buffer.alloc(0)), { message: 'the random source returned no bytes when asked for 6' });
  });

  it('refuses a source that only returns rejected bytes instead of looping forever', () => {
    assert.throws(() => newJoinCode((n) => Buffer.alloc(n, 255)), { message: 'the random source gave 1026 bytes without 6 below 248' });
  });
});

describe('normalizeJoinCode', () => {
  it('upper-cases and drops spaces and dashes', () => {
    const cases: [string, string][] = [
      ['ABCDEF', 'ABCDEF'],
      [' abc-def ', 'ABCDEF'],
      ['xyz-234', 'XYZ234'],
      ['h j k m n p', 'HJKMNP'],
      ['--9\t8-7 6\n5 4--', '987654'],
      ['Qr-St-Uv', 'QRSTUV'],
    ];
    for (const [input, expected] of cases) assert.equal(normalizeJoinCode(input), expected, JSON.stringify(input));
  });

  it('refuses characters that are not in the alphabet', () => {
    for (const input of ['ABCDE0', 'ABCDEO', 'ABCDE1', 'ABCDEI', 'ABCDEL', 'abcdei', 'abcdel', 'ABC_EF', 'ABC.EF', 'ABCDE!']) {
      assert.equal(normalizeJoinCode(input), undefined, input);
    }
  });

  it('refuses letters that only upper-case into the alphabet', () => {
    // 'ß' upper-cases to 'SS' and 'ſ' (long s) to 'S'; 'ＡＢＣ' is fullwidth.
    for (const input of ['ABCDß', 'ABCDEſ', 'ＡＢＣDEF']) assert.equal(normalizeJoinCode(input), undefined, input);
  });

  it('refuses the wrong length', () => {
    for (const input of ['', '   ', '-', 'ABCDE', 'ABCDEFG', 'ABC-DEF-G']) assert.equal(normalizeJoinCode(input), undefined, JSON.stringify(input));
  });

  it('refuses input longer than 64 characters, however much of it is separators', () => {
    assert.equal(normalizeJoinCode('ABCDEF' + ' '.repeat(58)), 'ABCDEF');
    assert.equal(normalizeJoinCode('ABCDEF' + ' '.repeat(59)), undefined);
  });

  it('refuses anything that is not a string', () => {
    for (const input of [undefined, null, 123456, ['ABCDEF'], { code: 'ABCDEF' }, true])
      assert.equal(normalizeJoinCode(input), undefined, JSON.stringify(input));
  });
});
