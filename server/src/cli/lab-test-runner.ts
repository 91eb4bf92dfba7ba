import type { CheckResult, SessionCreated } from '../../../common/api.js';
import { TerminalClient, terminalUrl } from '../client/terminal-client.js';
import { typeAndWait } from '../client/type-and-wait.js';
import { shellHost, type Lab } from '../labs/lab.js';
import { fillTemplate } from '../labs/template.js';
import type { LabTestResult, StepTestResult } from './junit.js';

/** Longest a single solution line may run (apt under an emulated CPU takes ~20 s). */
const SOLUTION_LINE_TIMEOUT_MS = 180_000;

export interface RunnerHooks {
  /** Called as each step ends, for live output. */
  onStep(lab: Lab, step: StepTestResult): void;
  /** Called once the session is up, so Ctrl-C or --keep know what to clean up or keep. */
  onSession(lab: Lab, session: SessionCreated): void;
}

/**
 * Tests one lab through the same doors a learner uses: it creates a session over the HTTP API,
 * types each step's solution into the real terminal over the WebSocket, and runs each check over
 * the API, first expecting it to fail (a check that passes before the learner did anything is
 * broken), then to pass. It stops at the first failed step: later steps build on it.
 */
export async function testLab(baseUrl: string, lab: Lab, hooks: RunnerHooks): Promise<LabTestResult> {
  const started = Date.now();
  const steps: StepTestResult[] = [];
  const result = (extra: Partial<LabTestResult> = {}): LabTestResult => ({ lab: lab.id, dir: lab.dir, steps, ms: Date.now() - started, ...extra });

  const created = await fetch(`${baseUrl}/api/sessions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ lab: lab.id }),
  });
  const body = (await created.json()) as SessionCreated & { error?: string };
  if (created.status !== 201) return result({ error: `the session did not start (${created.status}): ${body.error}` });
  const sessionStartMs = Date.now() - started;
  hooks.onSession(lab, body);
  const session = body;

  const auth = { Authorization: `Bearer ${session.token}` };
  const state = (await (await fetch(`${baseUrl}/api/sessions/${session.id}`, { headers: auth })).json()) as { variables: Record<string, string> };
  const check = async (stepId: string): Promise<CheckResult> => {
    const res = await fetch(`${baseUrl}/api/sessions/${session.id}/steps/${stepId}/check`, { method: 'POST', headers: auth });
    const answer = (await res.json()) as CheckResult & { error?: string };
    if (res.status !== 200) throw new Error(`the check of step ${stepId} answered ${res.status}: ${answer.error}`);
    return answer;
  };

  // A terminal per host, opened when a solution line first goes there; the main one at once.
  const terminals = new Map<string, TerminalClient>();
  const terminal = async (host: string | undefined): Promise<TerminalClient> => {
    const key = host ?? '';
    let term = terminals.get(key);
    if (!term) {
      term = await TerminalClient.connect(terminalUrl(baseUrl, session.id, session.token, host), { cols: 160, rows: 50 });
      terminals.set(key, term);
      await term.nextMessage('ready');
    }
    return term;
  };
  const mainShell = shellHost(lab).name;
  try {
    await terminal(undefined);
    let failed = false;
    for (const step of lab.steps) {
      const t0 = Date.now();
      const timings: { checkBefore?: number; solution?: number; checkAfter?: number } = {};
      const finish = (outcome: StepTestResult['outcome'], message?: string) => {
        const r: StepTestResult = { id: step.id, title: step.title, outcome, ...(message ? { message } : {}), timings, ms: Date.now() - t0 };
        steps.push(r);
        hooks.onStep(lab, r);
      };
      if (failed) {
        finish('skipped', 'an earlier step failed');
        continue;
      }
      try {
        if (step.checks.length > 0 && !step.mayAlreadyPass) {
          const t = Date.now();
          const before = await check(step.id);
          timings.checkBefore = Date.now() - t;
          if (before.passed) {
            failed = true;
            finish(
              'failed',
              `the check passed BEFORE the solution ran ("${before.message}"): a check that passes before the learner has done anything is broken (if the step only observes, mark it mayAlreadyPass: true)`,
            );
            continue;
          }
        }
        const t1 = Date.now();
        for (const line of step.solution) {
          const typed = fillTemplate(line.command, state.variables);
          const term = await terminal(line.host === mainShell ? undefined : line.host);
          const timeoutMs = line.timeoutSeconds === undefined ? SOLUTION_LINE_TIMEOUT_MS : line.timeoutSeconds * 1000;
          try {
            await typeAndWait(term, typed, timeoutMs);
          } catch (e) {
            throw new Error(
              `the solution line \`${typed}\` in ${line.host} did not finish within ${timeoutMs / 1000} s; the terminal last showed: ${JSON.stringify(term.output.slice(-300))}`,
              { cause: e },
            );
          }
        }
        timings.solution = Date.now() - t1;
        if (step.checks.length > 0) {
          const t2 = Date.now();
          const after = await check(step.id);
          timings.checkAfter = Date.now() - t2;
          if (!after.passed) {
            failed = true;
            finish('failed', `the check failed after the solution ran: ${after.message}`);
            continue;
          }
        }
        finish('passed');
      } catch (e) {
        failed = true;
        finish('failed', (e as Error).message);
      }
    }
  } finally {
    await Promise.all([...terminals.values()].map((t) => t.close()));
  }
  return result({ sessionStartMs });
}
