import assert from 'node:assert/strict';
import { it } from 'node:test';
import { labPassed, toJUnitXml, type LabTestResult } from '../../../server/src/cli/junit.js';

const passed: LabTestResult = { lab: 'a', dir: '/x/a', ms: 2500, steps: [{ id: 's1', title: 'One', outcome: 'passed', timings: {}, ms: 1200 }] };
const failed: LabTestResult = {
  lab: 'b<&>',
  dir: '/x/b',
  ms: 1000,
  steps: [
    { id: 's1', title: 'Uses "quotes"', outcome: 'failed', message: 'bad \x1b[31mred\x1b[0m & <worse>', timings: {}, ms: 300 },
    { id: 's2', title: 'Later', outcome: 'skipped', message: 'an earlier step failed', timings: {}, ms: 0 },
  ],
};
const broken: LabTestResult = { lab: 'c', dir: '/x/c', ms: 10, steps: [], error: 'the session did not start (503): full' };

it('counts, times and escapes every case, dropping terminal control codes', () => {
  const xml = toJUnitXml([passed, failed, broken]);
  assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="ipvs-lab" tests="4" failures="2" time="3.510">/);
  assert.match(xml, /<testsuite name="a" tests="1" failures="0" skipped="0" time="2.500">\n {4}<testcase classname="a" name="s1: One" time="1.200"\/>/);
  assert.match(xml, /<testsuite name="b&lt;&amp;&gt;" tests="2" failures="1" skipped="1"/);
  assert.match(xml, /name="s1: Uses &quot;quotes&quot;"/);
  assert.match(xml, /<failure message="bad \[31mred\[0m &amp; &lt;worse&gt;">/);
  assert.ok(!xml.includes('\x1b'));
  assert.match(xml, /<testcase classname="c" name="session" time="0.010">\n {6}<failure message="the session did not start \(503\): full">/);
});

it('a lab passes only when every step passed and nothing broke', () => {
  assert.equal(labPassed(passed), true);
  assert.equal(labPassed(failed), false);
  assert.equal(labPassed(broken), false);
});
