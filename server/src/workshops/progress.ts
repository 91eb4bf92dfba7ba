/**
 * A learner's progress through a lab, derived from the checks they ran: which steps passed, where
 * they are now, and whether an instructor should look at them. Pure, so the rules are tested
 * without a store or a clock.
 */

import type { LearnerStep } from '../../../common/api.js';

export interface CheckRow {
  readonly stepId: string;
  readonly passed: boolean;
  readonly message: string;
  /** ms since the epoch. */
  readonly at: number;
}

export interface ProgressInput {
  /** The lab's steps, in lab order. */
  readonly steps: readonly { readonly id: string; readonly title: string }[];
  /** Every check of this learner's session, oldest first; rows of unknown steps are ignored. */
  readonly checks: readonly CheckRow[];
  /** Hints revealed per challenge step (step id → count); steps not in it used none. */
  readonly hints?: ReadonlyMap<string, number>;
  /** ms since the epoch. */
  readonly joinedAt: number;
  readonly lastActivity: number;
  readonly now: number;
  /** On the same current step for at least this long means stuck. */
  readonly stuckAfterMs: number;
  /** This many failed checks in a row on the current step means stuck. */
  readonly stuckFailures: number;
}

export interface LearnerProgress {
  /** The first step in lab order that has not passed; undefined once every step passed. */
  readonly currentStep: string | undefined;
  readonly idleSeconds: number;
  /** Why an instructor should look at this learner, if they should. */
  readonly stuck?: string;
  readonly steps: LearnerStep[];
}

function stepFromChecks(id: string, checks: readonly CheckRow[]): LearnerStep {
  let passedAt: number | undefined;
  let failures = 0;
  for (const check of checks) {
    if (check.passed) {
      passedAt ??= check.at;
      // Failures count only since the last pass: a learner who broke a passed step starts over.
      failures = 0;
    } else {
      failures++;
    }
  }
  const last = checks.at(-1);
  const step: LearnerStep = { id, passed: passedAt !== undefined, failures };
  // Optional fields are left out, not set to undefined, so they stay out of JSON and deepEqual.
  return {
    ...step,
    ...(passedAt !== undefined && { passedAt }),
    ...(last && { lastMessage: last.message, lastCheckedAt: last.at }),
  };
}

/** Derives one learner's progress from their checks; see ProgressInput for the thresholds. */
export function learnerProgress(input: ProgressInput): LearnerProgress {
  const checksByStep = new Map<string, CheckRow[]>(input.steps.map((s) => [s.id, []]));
  for (const check of input.checks) checksByStep.get(check.stepId)?.push(check);
  const steps = input.steps.map((s) => {
    const step = stepFromChecks(s.id, checksByStep.get(s.id) ?? []);
    const hints = input.hints?.get(s.id) ?? 0;
    return hints > 0 ? { ...step, hints } : step;
  });

  const idleSeconds = Math.max(0, Math.floor((input.now - input.lastActivity) / 1000));
  const currentIndex = steps.findIndex((s) => !s.passed);
  const current = steps[currentIndex];
  const currentDef = input.steps[currentIndex];
  if (!current || !currentDef) return { currentStep: undefined, idleSeconds, steps };

  // The learner reached the current step when they joined or when their latest pass happened.
  const since = Math.max(input.joinedAt, ...steps.map((s) => s.passedAt ?? -Infinity));
  const onStepMs = input.now - since;
  let stuck: string | undefined;
  // `failures > 0` keeps a threshold of 0 from calling a learner stuck who has not failed at all.
  if (current.failures > 0 && current.failures >= input.stuckFailures) {
    stuck = `${current.failures} failed checks in a row on ${currentDef.title}: ${current.lastMessage ?? ''}`;
  } else if (onStepMs >= input.stuckAfterMs) {
    stuck = `on ${currentDef.title} for ${Math.floor(onStepMs / 60_000)} min`;
  }
  return { currentStep: current.id, idleSeconds, ...(stuck !== undefined && { stuck }), steps };
}

/** For each step id (every one, 0 included), how many learners have passed it. */
export function stepTotals(steps: readonly { id: string }[], learners: readonly { readonly steps: readonly LearnerStep[] }[]): Record<string, number> {
  const totals = new Map<string, number>(steps.map((s) => [s.id, 0]));
  for (const learner of learners) {
    // A set, so a learner listed twice for one step is still counted once.
    const passed = new Set(learner.steps.filter((s) => s.passed).map((s) => s.id));
    for (const id of passed) {
      const count = totals.get(id);
      if (count !== undefined) totals.set(id, count + 1);
    }
  }
  // fromEntries defines own properties, so a step id such as `__proto__` stays an ordinary key.
  return Object.fromEntries(totals);
}
