import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { LearnerStep } from '../../../common/api.js';
import { learnerProgress, stepTotals, type CheckRow, type ProgressInput } from '../../../server/src/workshops/progress.js';

const MIN = 60_000;
const steps = [
  { id: 'svc', title: 'Create the service' },
  { id: 'rs', title: 'Add real servers' },
  { id: 'rr', title: 'Round robin' },
];
const ok = (stepId: string, at: number, message = 'ok'): CheckRow => ({ stepId, passed: true, message, at });
const bad = (stepId: string, at: number, message = 'no'): CheckRow => ({ stepId, passed: false, message, at });
const input = (checks: CheckRow[], over: Partial<ProgressInput> = {}): ProgressInput => ({
  steps,
  checks,
  joinedAt: 1000,
  lastActivity: 1000,
  now: 1000,
  stuckAfterMs: 10 * MIN,
  stuckFailures: 3,
  ...over,
});

describe('learnerProgress', () => {
  it('shows a learner who has not checked anything on the first step', () => {
    assert.deepEqual(learnerProgress(input([])), {
      currentStep: 'svc',
      idleSeconds: 0,
      steps: [
        { id: 'svc', passed: false, failures: 0 },
        { id: 'rs', passed: false, failures: 0 },
        { id: 'rr', passed: false, failures: 0 },
      ],
    });
  });

  it('takes passedAt from the first pass, the message and time from the last check, and failures since the last pass', () => {
    const checks = [
      bad('svc', 2000, 'no service'),
      ok('svc', 3000, 'first'),
      bad('svc', 4000, 'broke it'),
      ok('svc', 5000, 'again'),
      bad('svc', 6000, 'broke it twice'),
      bad('svc', 7000, 'still broken'),
    ];
    const progress = learnerProgress(input(checks, { now: 8000 }));
    assert.deepEqual(progress.steps[0], { id: 'svc', passed: true, passedAt: 3000, lastMessage: 'still broken', lastCheckedAt: 7000, failures: 2 });
    assert.equal(progress.currentStep, 'rs');
  });

  it('counts every failure of a step that never passed', () => {
    const progress = learnerProgress(input([bad('svc', 2000, 'a'), bad('svc', 3000, 'b')], { now: 4000 }));
    assert.deepEqual(progress.steps[0], { id: 'svc', passed: false, lastMessage: 'b', lastCheckedAt: 3000, failures: 2 });
    assert.equal(progress.stuck, undefined);
    assert.equal('stuck' in progress, false);
  });

  it('ignores checks of steps the lab does not have', () => {
    const progress = learnerProgress(input([ok('gone', 2000), bad('svc', 3000, 'x')], { now: 3000 }));
    assert.deepEqual(progress.steps, [
      { id: 'svc', passed: false, lastMessage: 'x', lastCheckedAt: 3000, failures: 1 },
      { id: 'rs', passed: false, failures: 0 },
      { id: 'rr', passed: false, failures: 0 },
    ]);
  });

  it('puts the learner on the first step in lab order that has not passed, even past later passes', () => {
    const progress = learnerProgress(input([ok('svc', 2000), ok('rr', 3000)], { now: 3000 }));
    assert.equal(progress.currentStep, 'rs');
    assert.deepEqual(
      progress.steps.map((s) => s.passed),
      [true, false, true],
    );
  });

  it('has no current step and is never stuck once every step passed', () => {
    const progress = learnerProgress(input([ok('svc', 2000), ok('rs', 3000), ok('rr', 4000)], { now: 4000 + 60 * MIN, lastActivity: 4000 }));
    assert.equal(progress.currentStep, undefined);
    assert.equal(progress.stuck, undefined);
    assert.equal(progress.idleSeconds, 3600);
  });

  it('rounds idle time down to whole seconds and never below zero', () => {
    assert.equal(learnerProgress(input([], { lastActivity: 1000, now: 3999 })).idleSeconds, 2);
    assert.equal(learnerProgress(input([], { lastActivity: 5000, now: 1000 })).idleSeconds, 0);
    assert.ok(Object.is(learnerProgress(input([], { lastActivity: 1500, now: 1000 })).idleSeconds, 0));
  });

  it('calls a learner stuck after the configured failures in a row, with the step title and last message', () => {
    const checks = [bad('svc', 2000), bad('svc', 3000), bad('svc', 4000, 'port 80 is not a virtual service')];
    assert.equal(learnerProgress(input(checks, { now: 5000 })).stuck, '3 failed checks in a row on Create the service: port 80 is not a virtual service');
    assert.equal(learnerProgress(input(checks.slice(0, 2), { now: 5000 })).stuck, undefined);
  });

  it('starts counting failures in a row again after the step passed', () => {
    // svc passed and then broke twice; it still counts as passed, so rs is current and has no failures.
    const checks = [bad('svc', 2000), bad('svc', 3000), ok('svc', 4000), bad('rs', 5000), bad('rs', 6000, 'no real servers')];
    const progress = learnerProgress(input(checks, { now: 7000 }));
    assert.equal(progress.currentStep, 'rs');
    assert.equal(progress.stuck, undefined);
    const more = learnerProgress(input([...checks, bad('rs', 7000, 'still none')], { now: 8000 }));
    assert.equal(more.stuck, '3 failed checks in a row on Add real servers: still none');
  });

  it('calls a learner stuck after the configured time on one step, in whole minutes, counted from joining', () => {
    assert.equal(learnerProgress(input([], { now: 1000 + 10 * MIN - 1 })).stuck, undefined);
    assert.equal(learnerProgress(input([], { now: 1000 + 10 * MIN })).stuck, 'on Create the service for 10 min');
    assert.equal(learnerProgress(input([], { now: 1000 + 12 * MIN + 59_999 })).stuck, 'on Create the service for 12 min');
  });

  it('counts time on a step from the latest pass of any step', () => {
    const checks = [ok('svc', 1000 + 5 * MIN), ok('rr', 1000 + 8 * MIN)];
    assert.equal(learnerProgress(input(checks, { now: 1000 + 17 * MIN })).stuck, undefined);
    assert.equal(learnerProgress(input(checks, { now: 1000 + 18 * MIN })).stuck, 'on Add real servers for 10 min');
  });

  it('counts from joining when the passes came before it (a rejoin)', () => {
    const progress = learnerProgress(input([ok('svc', 500)], { joinedAt: 2 * MIN, now: 12 * MIN }));
    assert.equal(progress.stuck, 'on Add real servers for 10 min');
    assert.equal(learnerProgress(input([ok('svc', 500)], { joinedAt: 2 * MIN, now: 12 * MIN - 1 })).stuck, undefined);
  });

  it('prefers failures in a row over time on the step', () => {
    const checks = [bad('svc', 2000, 'a'), bad('svc', 3000, 'b'), bad('svc', 4000, 'c')];
    assert.equal(learnerProgress(input(checks, { now: 1000 + 30 * MIN })).stuck, '3 failed checks in a row on Create the service: c');
  });

  it('does not call a learner with no failures stuck when the failure threshold is 0', () => {
    assert.equal(learnerProgress(input([], { stuckFailures: 0 })).stuck, undefined);
  });
});

describe('stepTotals', () => {
  const step = (id: string, passed: boolean): LearnerStep => ({ id, passed, failures: 0 });

  it('counts the learners who passed each step, 0 included for every step', () => {
    const learners = [{ steps: [step('svc', true), step('rs', true), step('rr', false)] }, { steps: [step('svc', true), step('rs', false)] }, { steps: [] }];
    assert.deepEqual(stepTotals(steps, learners), { svc: 2, rs: 1, rr: 0 });
    assert.deepEqual(stepTotals(steps, []), { svc: 0, rs: 0, rr: 0 });
  });

  it('ignores steps the lab does not have and counts a learner once per step', () => {
    const learners = [{ steps: [step('svc', true), step('svc', true), step('gone', true)] }];
    assert.deepEqual(stepTotals(steps, learners), { svc: 1, rs: 0, rr: 0 });
  });

  it('keeps a step called __proto__ an ordinary key', () => {
    const totals = stepTotals([{ id: '__proto__' }], [{ steps: [step('__proto__', true)] }]);
    assert.deepEqual(Object.keys(totals), ['__proto__']);
    assert.equal(totals['__proto__'], 1);
    assert.equal(Object.getPrototypeOf(totals), Object.prototype);
  });
});
