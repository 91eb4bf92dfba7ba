import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { LearnerStep } from '../../../common/api.js';
import { resultsCsv } from '../../../server/src/workshops/results-csv.js';

const steps = [{ id: 'svc' }, { id: 'rs' }];
const T1 = Date.UTC(2024, 4, 6, 9, 30, 0, 123);
const T2 = Date.UTC(2024, 4, 6, 10, 0, 0, 0);
const passed = (id: string, passedAt: number): LearnerStep => ({ id, passed: true, passedAt, failures: 0 });
const learner = (name: string, learnerSteps: LearnerStep[] = []) => ({ name, steps: learnerSteps });

describe('resultsCsv', () => {
  it('writes a header, one row per learner in order, and the ISO time each step passed', () => {
    const csv = resultsCsv(steps, [
      learner('Ada', [passed('svc', T1), passed('rs', T2)]),
      learner('Brian', [{ id: 'svc', passed: false, failures: 3, lastMessage: 'no' }, passed('rs', T2)]),
      learner('Cleo'),
    ]);
    assert.equal(csv, 'name,svc,rs\r\n' + 'Ada,2024-05-06T09:30:00.123Z,2024-05-06T10:00:00.000Z\r\n' + 'Brian,,2024-05-06T10:00:00.000Z\r\n' + 'Cleo,,\r\n');
  });

  it('writes only the header when nobody joined', () => {
    assert.equal(resultsCsv(steps, []), 'name,svc,rs\r\n');
    assert.equal(resultsCsv([], [learner('Ada')]), 'name\r\nAda\r\n');
  });

  it('leaves out steps the lab does not have', () => {
    assert.equal(resultsCsv(steps, [learner('Ada', [passed('gone', T1)])]), 'name,svc,rs\r\nAda,,\r\n');
  });

  it('quotes fields with quotes, commas or line breaks, doubling the quotes', () => {
    const csv = resultsCsv([], [learner('a,b'), learner('say "hi"'), learner('two\nlines'), learner('cr\rhere'), learner('plain name')]);
    assert.equal(csv, 'name\r\n"a,b"\r\n"say ""hi"""\r\n"two\nlines"\r\n"cr\rhere"\r\nplain name\r\n');
  });

  it('defuses names a spreadsheet would run as formulas, before quoting', () => {
    const names = ['=HYPERLINK("x")', '+1', '-2', '@SUM(A1)', '\tx', '\rx', '=1,2'];
    const csv = resultsCsv(
      [],
      names.map((n) => learner(n)),
    );
    assert.equal(csv, 'name\r\n' + `"'=HYPERLINK(""x"")"\r\n` + "'+1\r\n" + "'-2\r\n" + "'@SUM(A1)\r\n" + "'\tx\r\n" + `"'\rx"\r\n` + `"'=1,2"\r\n`);
  });

  it('escapes step ids in the header as well', () => {
    assert.equal(resultsCsv([{ id: '=cmd' }, { id: 'a,b' }], []), 'name,\'=cmd,"a,b"\r\n');
  });

  it('leaves a formula character inside a name alone', () => {
    assert.equal(resultsCsv([], [learner('Ada = Lovelace')]), 'name\r\nAda = Lovelace\r\n');
  });
});
