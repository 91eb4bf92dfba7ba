import type { CheckResult, SessionState } from '../../../common/api.js';
import type { CheckContext } from '../checks/check-context.js';
import { runChecks } from '../checks/run-checks.js';
import type { Lab } from '../labs/lab.js';
import { renderStep } from '../labs/render-step.js';
import { fillTemplate } from '../labs/template.js';
import type { RunningEnvironment } from '../runtime/runtime.js';
import { SessionStore, type SessionRecord } from '../store/session-store.js';
import type { TerminalSession } from '../terminal/terminal-session.js';

/** Activity is written to the database at most this often per session; memory has the exact time. */
const TOUCH_WRITE_INTERVAL_MS = 30_000;

/** One learner's lab: their containers, their shell, their progress. */
export class Session {
  private lastActivity: number;
  private lastActivityWritten: number;
  private disposed: Promise<void> | undefined;
  /** Rendered once: the variables never change during a session. */
  private readonly stepHtml: ReadonlyMap<string, string>;

  constructor(
    private readonly record: SessionRecord,
    readonly lab: Lab,
    readonly environment: RunningEnvironment,
    readonly terminal: TerminalSession,
    readonly variables: Readonly<Record<string, string>>,
    /** Step id → when it first passed; kept in the store, so a restart keeps it. */
    private readonly passed: Map<string, number>,
    private readonly store: SessionStore,
    private readonly checkTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lastActivity = record.lastActivity;
    this.lastActivityWritten = record.lastActivity;
    this.stepHtml = new Map(lab.steps.map((s) => [s.id, renderStep(s.markdown, variables)]));
  }

  get id(): string {
    return this.record.id;
  }

  /** Constant-time comparison of hashes, so the token cannot be guessed a byte at a time. */
  hasToken(candidate: string | undefined): boolean {
    return SessionStore.tokenMatches(this.record, candidate);
  }

  touch(): void {
    this.lastActivity = this.now();
    if (this.lastActivity - this.lastActivityWritten >= TOUCH_WRITE_INTERVAL_MS) this.persistActivity();
  }

  /** Writes the last activity now (at shutdown), whatever the interval. */
  persistActivity(): void {
    if (this.lastActivityWritten === this.lastActivity) return;
    this.lastActivityWritten = this.lastActivity;
    this.store.touch(this.id, this.lastActivity);
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
    if (this.disposed) return result;
    const at = this.now();
    this.store.recordCheck(this.id, stepId, result.passed, result.message, at);
    // A step stays done once passed: undoing it later (ipvsadm -C in the closing step) is exploring, not failing.
    if (result.passed && !this.passed.has(stepId)) this.passed.set(stepId, at);
    return result;
  }

  checkContext(): CheckContext {
    return {
      exec: (host, script) => this.environment.check(host, script, this.checkTimeoutMs),
      statPath: (host, target) => this.environment.statPath(host, target),
      variables: this.variables,
      hostIps: new Map([...this.environment.hosts.values()].map((h) => [h.name, h.ip])),
    };
  }

  /** Ends the shell and, unless `keepContainers`, removes the containers and network. Idempotent. */
  dispose(options: { keepContainers?: boolean } = {}): Promise<void> {
    this.disposed ??= (async () => {
      this.terminal.dispose();
      this.persistActivity();
      if (!options.keepContainers) await this.environment.stop();
    })();
    return this.disposed;
  }
}
