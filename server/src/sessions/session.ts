import type { ChallengeHints, CheckResult, SessionLimits, SessionState } from '../../../common/api.js';
import type { NoticeKind, NoticeMessage } from '../../../common/protocol.js';
import type { CheckContext } from '../checks/check-context.js';
import { runChecks } from '../checks/run-checks.js';
import { ipvsHost, type Lab } from '../labs/lab.js';
import { renderHint, renderStep } from '../labs/render-step.js';
import { fillTemplate } from '../labs/template.js';
import type { RunningEnvironment } from '../runtime/runtime.js';
import { SessionStore, type SessionRecord } from '../store/session-store.js';
import type { TerminalSession } from '../terminal/terminal-session.js';
import { IpvsPanelFeed, type PanelFeedSettings } from './ipvs-panel-feed.js';

/** Activity is written to the database at most this often per session; memory has the exact time. */
const TOUCH_WRITE_INTERVAL_MS = 30_000;

/** What a session reports to its manager, and learns from it. */
export interface SessionHooks {
  /** Called after every check that ran, passed or not, once it is stored. */
  readonly onCheck?: (session: Session, stepId: string, result: CheckResult, at: number) => void;
  /** Called after a learner revealed a hint, once it is stored. */
  readonly onHint?: (session: Session, stepId: string, revealed: number) => void;
  /** The idle limit and the workshop, for the learner's page. */
  readonly limits: (session: Session) => SessionLimits;
  /** How the live IPVS panel reads; without it, the session has no panel. */
  readonly panel?: PanelFeedSettings;
}

type NoticeListener = (notice: NoticeMessage) => void;

/** One of a session's terminals: a shell in one of its hosts. */
export interface HostTerminal {
  readonly host: string;
  readonly terminal: TerminalSession;
}

/** One learner's lab: their containers, their shell, their progress. */
export class Session {
  private lastActivity: number;
  private lastActivityWritten: number;
  private disposed: Promise<void> | undefined;
  private tokenHash: string;
  private readonly noticeListeners = new Set<NoticeListener>();
  /** Notices still in force, by kind: a page that connects later is told them too. */
  private readonly standing = new Map<NoticeKind, NoticeMessage>();
  /** Rendered once: the variables never change during a session. */
  private readonly stepHtml: ReadonlyMap<string, string>;
  private readonly hintHtml: ReadonlyMap<string, readonly string[]>;
  /** Challenge step id → hints revealed; kept in the store. */
  private readonly hints: Map<string, number>;
  /** The director whose IPVS table the panel shows, if the lab programs one. */
  readonly ipvsHost: string | undefined;
  private panelFeed: IpvsPanelFeed | undefined;

  constructor(
    private readonly record: SessionRecord,
    readonly lab: Lab,
    readonly environment: RunningEnvironment,
    /** A shell per host the lab gives a terminal, the first one's first: the learner's main terminal. */
    private readonly terminals: readonly HostTerminal[],
    readonly variables: Readonly<Record<string, string>>,
    /** Step id → when it first passed; kept in the store, so a restart keeps it. */
    private readonly passed: Map<string, number>,
    private readonly store: SessionStore,
    private readonly checkTimeoutMs: number,
    private readonly hooks: SessionHooks,
    private readonly now: () => number = Date.now,
  ) {
    this.tokenHash = record.tokenHash;
    this.lastActivity = record.lastActivity;
    this.lastActivityWritten = record.lastActivity;
    this.stepHtml = new Map(lab.steps.map((s) => [s.id, renderStep(s.markdown, variables)]));
    this.hintHtml = new Map(lab.steps.map((s) => [s.id, (s.challenge?.hints ?? []).map((h) => renderHint(h, variables))]));
    this.hints = store.hintsRevealed(record.id);
    this.ipvsHost = hooks.panel ? ipvsHost(lab) : undefined;
  }

  /** The live reading of the director's IPVS table, made on first use; undefined when the lab has none or the session ended. */
  ipvsPanel(): IpvsPanelFeed | undefined {
    if (this.disposed || this.ipvsHost === undefined || !this.hooks.panel) return undefined;
    return (this.panelFeed ??= new IpvsPanelFeed(this.environment, this.ipvsHost, this.hooks.panel));
  }

  get id(): string {
    return this.record.id;
  }

  /** The learner's main terminal: in the lab's first host with a shell. */
  get terminal(): TerminalSession {
    return this.terminals[0]!.terminal;
  }

  /** The hosts with a terminal, in the lab's order. */
  get terminalHosts(): string[] {
    return this.terminals.map((t) => t.host);
  }

  /** The terminal in `host` (the main one when undefined), or undefined when that host has none. */
  terminalFor(host?: string): HostTerminal | undefined {
    return host === undefined ? this.terminals[0] : this.terminals.find((t) => t.host === host);
  }

  /** Constant-time comparison of hashes, so the token cannot be guessed a byte at a time. */
  hasToken(candidate: string | undefined): boolean {
    return SessionStore.tokenMatches(this.tokenHash, candidate);
  }

  /** Gives the session a new token (a warm session handed to a learner): whoever had the old one has nothing. */
  rotateToken(): string {
    const token = SessionStore.newToken();
    this.tokenHash = SessionStore.hashToken(token);
    this.store.setTokenHash(this.id, this.tokenHash);
    return token;
  }

  get createdAt(): number {
    return this.record.createdAt;
  }

  get lastActiveAt(): number {
    return this.lastActivity;
  }

  get ended(): boolean {
    return this.disposed !== undefined;
  }

  /** Tells every page of this session, now and (while it stands) later. */
  notify(notice: NoticeMessage): void {
    this.standing.set(notice.kind, notice);
    for (const l of this.noticeListeners) l(notice);
  }

  /** Withdraws a standing notice (the learner came back before the idle limit). */
  withdraw(kind: NoticeKind): void {
    this.standing.delete(kind);
  }

  /** Subscribes a page: it gets the standing notices at once, then each new one. */
  onNotice(listener: NoticeListener): { dispose(): void } {
    for (const n of this.standing.values()) listener(n);
    this.noticeListeners.add(listener);
    return { dispose: () => this.noticeListeners.delete(listener) };
  }

  /** Whether the idle warning was sent in this stretch of inactivity. */
  get idleWarned(): boolean {
    return this.standing.has('idle-warning');
  }

  touch(): void {
    this.withdraw('idle-warning');
    this.withdraw('reset');
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
        // A challenge's answer stays on the server: the page never has it to show.
        solution: s.challenge ? [] : s.solution.map((line) => ({ host: line.host, command: fillTemplate(line.command, this.variables) })),
        ...(s.challenge && { challenge: this.challengeHints(s.id) }),
      })),
      variables: this.variables,
      terminals: this.terminalHosts,
      limits: this.hooks.limits(this),
      ...(this.ipvsHost !== undefined && { ipvsHost: this.ipvsHost }),
    };
  }

  /** The hints of challenge step `stepId` revealed so far; undefined for a step that is not a challenge. */
  challengeHints(stepId: string): ChallengeHints | undefined {
    const all = this.hintHtml.get(stepId);
    if (!all || all.length === 0) return undefined;
    return { hints: all.length, revealed: all.slice(0, this.hints.get(stepId) ?? 0) };
  }

  /**
   * Reveals the next hint of challenge step `stepId` and returns every hint revealed so far.
   * Undefined when there is no such challenge step; asking past the last hint changes nothing.
   */
  revealHint(stepId: string): ChallengeHints | undefined {
    const total = this.hintHtml.get(stepId)?.length ?? 0;
    if (total === 0) return undefined;
    this.touch();
    const before = this.hints.get(stepId) ?? 0;
    if (before >= total) return this.challengeHints(stepId);
    const revealed = this.store.revealHint(this.id, stepId, total, this.now());
    this.hints.set(stepId, revealed);
    this.hooks.onHint?.(this, stepId, revealed);
    return this.challengeHints(stepId);
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
    this.hooks.onCheck?.(this, stepId, result, at);
    return result;
  }

  checkContext(): CheckContext {
    return {
      exec: (host, script) => this.environment.check(host, script, this.checkTimeoutMs),
      statPath: (host, target) => this.environment.statPath(host, target),
      readFile: (host, target, maxBytes) => this.environment.readFile(host, target, maxBytes),
      variables: this.variables,
      hostIps: new Map([...this.environment.hosts.values()].map((h) => [h.name, h.ip])),
    };
  }

  /** Reads the passed steps from the store again (they were copied in from the learner's earlier session). */
  reloadProgress(): void {
    this.passed.clear();
    for (const [step, at] of this.store.passedSteps(this.id)) this.passed.set(step, at);
    this.hints.clear();
    for (const [step, revealed] of this.store.hintsRevealed(this.id)) this.hints.set(step, revealed);
  }

  /** What a fresh session with the same identity starts from (a reset). */
  recordForReset(): SessionRecord {
    return { ...this.record, tokenHash: this.tokenHash };
  }

  /**
   * Ends the shell and, unless `keepContainers`, removes the containers and network. Idempotent.
   * `closeReason` says the session goes on (a reset): pages are asked to reconnect, not to give up.
   */
  dispose(options: { keepContainers?: boolean; closeReason?: string } = {}): Promise<void> {
    this.disposed ??= (async () => {
      this.noticeListeners.clear();
      this.panelFeed?.dispose();
      for (const { terminal } of this.terminals) terminal.dispose(options.closeReason);
      this.persistActivity();
      if (!options.keepContainers) await this.environment.stop();
    })();
    return this.disposed;
  }
}
