/** Results of `ipvs-lab test`, and their JUnit XML form for CI systems. */

export type StepOutcome = 'passed' | 'failed' | 'skipped';

export interface StepTestResult {
  readonly id: string;
  readonly title: string;
  readonly outcome: StepOutcome;
  /** Why it failed or was skipped. */
  readonly message?: string;
  /** Milliseconds per phase: check before, solution, check after. */
  readonly timings: { readonly checkBefore?: number; readonly solution?: number; readonly checkAfter?: number };
  readonly ms: number;
}

export interface LabTestResult {
  readonly lab: string;
  readonly dir: string;
  readonly steps: readonly StepTestResult[];
  /** Set when the lab could not be tested at all (its session did not start, say). */
  readonly error?: string;
  readonly sessionStartMs?: number;
  readonly ms: number;
}

export function labPassed(result: LabTestResult): boolean {
  return !result.error && result.steps.every((s) => s.outcome === 'passed');
}

function xml(s: string): string {
  // Characters XML 1.0 cannot hold at all (terminal control codes) are dropped, the rest escaped.
  return (
    s
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      .replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd]/gu, '')
      .replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!)
  );
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

export function toJUnitXml(results: readonly LabTestResult[]): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const total = results.reduce((n, r) => n + Math.max(1, r.steps.length), 0);
  const failures = results.reduce((n, r) => n + (r.error ? 1 : r.steps.filter((s) => s.outcome === 'failed').length), 0);
  lines.push(`<testsuites name="ipvs-lab" tests="${total}" failures="${failures}" time="${seconds(results.reduce((n, r) => n + r.ms, 0))}">`);
  for (const r of results) {
    const skipped = r.steps.filter((s) => s.outcome === 'skipped').length;
    const failed = r.error ? 1 : r.steps.filter((s) => s.outcome === 'failed').length;
    lines.push(`  <testsuite name="${xml(r.lab)}" tests="${Math.max(1, r.steps.length)}" failures="${failed}" skipped="${skipped}" time="${seconds(r.ms)}">`);
    if (r.error) {
      lines.push(
        `    <testcase classname="${xml(r.lab)}" name="session" time="${seconds(r.ms)}">`,
        `      <failure message="${xml(r.error)}">${xml(r.error)}</failure>`,
        '    </testcase>',
      );
    }
    for (const s of r.steps) {
      const head = `    <testcase classname="${xml(r.lab)}" name="${xml(`${s.id}: ${s.title}`)}" time="${seconds(s.ms)}"`;
      if (s.outcome === 'passed') lines.push(`${head}/>`);
      else if (s.outcome === 'skipped') lines.push(`${head}>`, `      <skipped message="${xml(s.message ?? '')}"/>`, '    </testcase>');
      else lines.push(`${head}>`, `      <failure message="${xml(s.message ?? 'failed')}">${xml(s.message ?? '')}</failure>`, '    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
