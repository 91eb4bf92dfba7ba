import { timingSafeEqual } from 'node:crypto';
import type { CheckResult, SessionState } from '../../../common/api.js';
import type { CheckContext } from '../checks/check-context.js';
import { runChecks } from '../checks/run-checks.js';
import type { Lab } from '../labs/lab.js';
import { renderStep } from '../labs/render-step.js';
import { fillTemplate } from '../labs/template.js';
import type { StartedLabEnvironment } from '../runtime/lab-environment.js';
import type { TerminalSession } from '../terminal/terminal-session.js';

/** One learner's lab: their containers, their shell, their progress. */
export class Session {
  private readonly passed = new Set<string>();
  private lastActivity: number;
  private disposed: Promise<void> | undefined;
  /** Rendered once: the variables never change during a session. */
  private readonly stepHtml: ReadonlyMap<string, string>;

  constructor(
    readonly id: string,
    readonly token: string,
    readonly lab: Lab,
    readonly environment: StartedLabEnvironment,
    readonly terminal: TerminalSession,
    readonly variables: Readonly<Record<string, string>>,
    private readonly checkTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastActivity = now();
    this.stepHtml = new Map(lab.steps.map((s) => [s.id, renderStep(s.markdown, variables)]));
  }

  /** Constant-time comparison, so the token cannot be guessed a byte at a time. */
  hasToken(candidate: string | undefined): boolean {
    if (candidate === undefined) return false;
    const a = Buffer.from(candidate);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  touch(): void {
    this.lastActivity = this.now();
  }

  idleFor(now: number = this.now()): number {
    return now - this.lastActivity;
  }

  state(): SessionState {
    return {
      id: this.id,
      lab: this.lab.id,
      labTitle: this.lab.title,
      steps: this.lab.steps.map((s) => ({
        id: s.id,
        title: s.title,
        passed: this.passed.has(s.id),
        hasCheck: s.checks.length > 0,
        html: this.stepHtml.get(s.id) ?? '',
        solution: s.solution.map((line) => fillTemplate(line, this.variables)),
      })),
      variables: this.variables,
    };
  }

  /** Runs a step's checks against the live containers and records the result. */
  async check(stepId: string): Promise<CheckResult | undefined> {
    const step = this.lab.steps.find((s) => s.id === stepId);
    if (!step) return undefined;
    this.touch();
    const result = await runChecks(step.checks, this.checkContext());
    // A step stays done once passed: undoing it later (ipvsadm -C in the closing step) is exploring, not failing.
    if (result.passed) this.passed.add(stepId);
    return result;
  }

  checkContext(): CheckContext {
    return {
      exec: (host, script) => this.environment.exec(host, script, this.checkTimeoutMs),
      variables: this.variables,
      hostIps: new Map([...this.environment.hosts.values()].map((h) => [h.name, h.ip])),
    };
  }

  /** Ends the shell and removes the containers and network. Idempotent. */
  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      this.terminal.dispose();
      await this.environment.stop();
    })();
    return this.disposed;
  }
}
