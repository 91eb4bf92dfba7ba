import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { MAX_NAME_LENGTH, parseLearnerName } from '../../../server/src/workshops/learner-name.js';

describe('parseLearnerName', () => {
  it('trims and collapses whitespace runs to one space', () => {
    assert.deepEqual(parseLearnerName('  Ada   Lovelace\t\n King  '), { ok: true, name: 'Ada Lovelace King', key: 'ada lovelace king' });
    assert.deepEqual(parseLearnerName('Ada\u00a0\u3000Lovelace'), { ok: true, name: 'Ada Lovelace', key: 'ada lovelace' });
  });

  it('composes accents typed as combining marks (NFC)', () => {
    const result = parseLearnerName('Jose\u0301');
    assert.deepEqual(result, { ok: true, name: 'Jos\u00e9', key: 'jos\u00e9' });
  });

  it('gives the same key to names that differ only in case or width', () => {
    const keys = ['Ada', 'ADA', 'ada', '\uff21\uff44\uff41'].map((n) => {
      const result = parseLearnerName(n);
      assert.ok(result.ok, n);
      return result.key;
    });
    assert.deepEqual(keys, ['ada', 'ada', 'ada', 'ada']);
    // The name itself keeps what the learner typed; only the key is folded.
    assert.deepEqual(parseLearnerName('\uff21\uff44\uff41'), { ok: true, name: '\uff21\uff44\uff41', key: 'ada' });
  });

  it('keeps names in other scripts and emoji made of one code point', () => {
    assert.deepEqual(parseLearnerName('Zoë 🚀'), { ok: true, name: 'Zoë 🚀', key: 'zoë 🚀' });
    assert.deepEqual(parseLearnerName('山田 太郎'), { ok: true, name: '山田 太郎', key: '山田 太郎' });
  });

  it('refuses an empty name', () => {
    for (const raw of ['', '   ', '\t\n'])
      assert.deepEqual(parseLearnerName(raw), { ok: false, error: 'give a name of 1 to 40 characters' }, JSON.stringify(raw));
  });

  it('counts length in code points after collapsing whitespace, saying how long the name was', () => {
    assert.equal(MAX_NAME_LENGTH, 40);
    assert.deepEqual(parseLearnerName('a'.repeat(40)), { ok: true, name: 'a'.repeat(40), key: 'a'.repeat(40) });
    assert.deepEqual(parseLearnerName('🚀'.repeat(40)).ok, true);
    assert.deepEqual(parseLearnerName(`  ${'a'.repeat(20)}      ${'b'.repeat(19)}  `).ok, true);
    assert.deepEqual(parseLearnerName('a'.repeat(41)), { ok: false, error: 'give a name of at most 40 characters (this one has 41)' });
    assert.deepEqual(parseLearnerName('🚀'.repeat(41)), { ok: false, error: 'give a name of at most 40 characters (this one has 41)' });
  });

  it('refuses control, format, private-use and unassigned characters, naming the code point', () => {
    const cases: [string, string][] = [
      ['Ada\u0007', 'U+0007'],
      ['Ada\u0000x', 'U+0000'],
      ['Ada\u007f', 'U+007F'],
      ['Ad\u200ba', 'U+200B'],
      ['\u202eadA', 'U+202E'],
      ['Ada\ue000', 'U+E000'],
      ['Ada\u{10ffff}', 'U+10FFFF'],
      ['Ada\u0378', 'U+0378'],
      ['Ada\ud800', 'U+D800'],
    ];
    for (const [raw, codePoint] of cases) {
      assert.deepEqual(
        parseLearnerName(raw),
        { ok: false, error: `the name contains the invisible or unprintable character ${codePoint}; remove it` },
        JSON.stringify(raw),
      );
    }
  });

  it('refuses anything that is not a string', () => {
    assert.deepEqual(parseLearnerName(undefined), { ok: false, error: 'the name must be text, not undefined' });
    assert.deepEqual(parseLearnerName(null), { ok: false, error: 'the name must be text, not null' });
    assert.deepEqual(parseLearnerName(42), { ok: false, error: 'the name must be text, not number' });
    assert.deepEqual(parseLearnerName(['Ada']), { ok: false, error: 'the name must be text, not object' });
  });
});
