import { randomBytes } from 'node:crypto';
import type {
  LearnerView,
  SessionLimits,
  WorkshopCreated,
  WorkshopCreateRequest,
  WorkshopEvent,
  WorkshopJoined,
  WorkshopPublic,
  WorkshopSummary,
  WorkshopView,
} from '../../../common/api.js';
import { HttpError } from '../http-error.js';
import type { Lab } from '../labs/lab.js';
import type { Logger } from '../logger.js';
import type { Session } from '../sessions/session.js';
import type { SessionManager } from '../sessions/session-manager.js';
import { SessionStore } from '../store/session-store.js';
import { NameTakenError, type MemberRecord, type WorkshopRecord, type WorkshopStore } from '../store/workshop-store.js';
import { newJoinCode, normalizeJoinCode } from './join-code.js';
import { parseLearnerName } from './learner-name.js';
import { learnerProgress, stepTotals } from './progress.js';
import { resultsCsv } from './results-csv.js';

/** Learners are warned this long before a workshop with an end time ends. */
const ENDING_WARNING_MS = 10 * 60_000;
/** Warm sessions started at once per workshop: the pool fills steadily without flooding the engine. */
const WARM_CONCURRENCY = 2;
const MAX_TITLE_LENGTH = 100;

export interface WorkshopManagerOptions {
  readonly store: WorkshopStore;
  readonly sessionStore: SessionStore;
  readonly sessions: SessionManager;
  readonly labs: ReadonlyMap<string, Lab>;
  readonly stuckAfterMs: number;
  readonly stuckFailures: number;
  readonly log: Logger;
  readonly now?: () => number;
}

type Listener = (event: WorkshopEvent) => void;

/**
 * Workshops: an instructor's lab for a room of learners, each on a session of their own. The
 * store holds workshops, learners and results; this class adds what lives only while the server
 * runs: the warm pool, the event streams, and the timers that end workshops on time.
 */
export class WorkshopManager {
  private readonly now: () => number;
  /** Per workshop: warm sessions started and not yet handed to a learner. */
  private readonly warm = new Map<string, Set<string>>();
  /** Per workshop: warm sessions being started now. */
  private readonly filling = new Map<string, number>();
  /** Per workshop: joins between their seat check and their record (so two cannot take the last seat). */
  private readonly joining = new Map<string, Set<string>>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly endingWarned = new Set<string>();
  private readonly subscriptions: { dispose(): void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: WorkshopManagerOptions) {
    this.now = options.now ?? Date.now;
    const { sessions } = options;
    sessions.attachWorkshops({
      idleExempt: (id) => this.isWarm(id),
      workshopOf: (id) => this.limitsOf(id),
    });
    this.subscriptions.push(
      sessions.onCheck((session, stepId, result, at) => {
        const member = options.store.member(session.id);
        if (!member?.name) return;
        this.emit(member.workshopId, {
          type: 'check',
          at,
          name: member.name,
          sessionId: session.id,
          step: stepId,
          passed: result.passed,
          message: result.message,
        });
      }),
      sessions.onHint((session, stepId, revealed, at) => {
        const member = options.store.member(session.id);
        if (member?.name) this.emit(member.workshopId, { type: 'hint', at, name: member.name, sessionId: session.id, step: stepId, revealed });
      }),
      sessions.onEnded((sessionId, reason) => {
        const member = options.store.member(sessionId);
        if (!member) return;
        if (!member.name) {
          // A warm session that went (the engine lost it, an operator removed it): refill.
          this.warm.get(member.workshopId)?.delete(sessionId);
          options.store.remove(sessionId, this.now());
          return;
        }
        this.emit(member.workshopId, { type: 'removed', at: this.now(), name: member.name, sessionId, reason });
      }),
    );
  }

  /** Takes back the live workshops after a restart (their warm sessions were restored with the sessions) and starts the timer. */
  start(): void {
    for (const w of this.options.store.live()) {
      const ready = new Set<string>();
      for (const m of this.options.store.members(w.id)) {
        if (m.name) continue;
        if (this.options.sessions.find(m.sessionId)) ready.add(m.sessionId);
        else this.options.store.remove(m.sessionId, this.now());
      }
      this.warm.set(w.id, ready);
    }
    this.tick();
    this.timer = setInterval(() => this.tick(), 5_000);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const s of this.subscriptions) s.dispose();
    for (const set of this.listeners.values()) set.clear();
  }

  // ---- instructor ---------------------------------------------------------------------------------

  /** `origin`: the address learners open (IPVS_LAB_PUBLIC_URL, or the one the instructor used), for the join link. */
  create(request: unknown, origin: string): WorkshopCreated {
    const body = (request ?? {}) as Partial<Record<keyof WorkshopCreateRequest, unknown>>;
    if (typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'send a JSON object such as {"lab": "ipvs-intro", "seats": 30}');
    const lab = typeof body.lab === 'string' ? this.options.labs.get(body.lab) : undefined;
    if (!lab) throw new HttpError(400, `"lab" must be one of: ${[...this.options.labs.keys()].join(', ')} (got ${JSON.stringify(body.lab)})`);
    const max = this.options.sessions.maxSessions;
    const seats = whole(body.seats, 'seats', 1, max, `at most the server's session cap, IPVS_LAB_MAX_SESSIONS=${max}`);
    const warm = body.warm === undefined ? 0 : whole(body.warm, 'warm', 0, seats, 'at most the seats');
    const minutes = body.minutes === undefined ? undefined : whole(body.minutes, 'minutes', 1, 7 * 24 * 60, 'at most a week');
    if (body.title !== undefined && (typeof body.title !== 'string' || body.title.trim().length > MAX_TITLE_LENGTH))
      throw new HttpError(400, `"title" must be text of at most ${MAX_TITLE_LENGTH} characters`);
    const title = (typeof body.title === 'string' && body.title.trim()) || lab.title;
    const createdAt = this.now();
    const record: WorkshopRecord = {
      id: randomBytes(5).toString('hex'),
      code: this.freeCode(),
      lab: lab.id,
      title,
      seats,
      warm,
      createdAt,
      endsAt: minutes === undefined ? undefined : createdAt + minutes * 60_000,
    };
    this.options.store.insert(record);
    this.warm.set(record.id, new Set());
    this.options.log.info('workshop created', { workshopId: record.id, code: record.code, lab: lab.id, seats, warm });
    this.refill(record);
    return { ...this.describe(record, origin), warm };
  }

  list(): WorkshopSummary[] {
    return this.options.store.live().map((w) => ({
      id: w.id,
      code: w.code,
      title: w.title,
      lab: w.lab,
      seats: w.seats,
      learners: this.learners(w.id).length,
      createdAt: w.createdAt,
      ...(w.endsAt !== undefined ? { endsAt: w.endsAt } : {}),
    }));
  }

  /** Also of a workshop that has ended (for as long as the server keeps it): its results are still wanted. */
  view(id: string, origin: string): WorkshopView {
    const w = this.workshop(id, { ended: true });
    const lab = this.labOf(w);
    const steps = lab.steps.map((s) => ({ id: s.id, title: s.title }));
    const checks = this.options.store.checks(w.id);
    const hints = this.options.store.hints(w.id);
    const now = this.now();
    const learners: LearnerView[] = this.learners(w.id).map((m) => {
      const live = this.options.sessions.find(m.sessionId);
      const progress = learnerProgress({
        steps,
        checks: checks.get(m.sessionId) ?? [],
        hints: hints.get(m.sessionId),
        joinedAt: m.joinedAt ?? w.createdAt,
        lastActivity: live ? live.lastActiveAt : m.lastActivity,
        now,
        stuckAfterMs: this.options.stuckAfterMs,
        stuckFailures: this.options.stuckFailures,
      });
      const ended = !live;
      return {
        name: m.name!,
        sessionId: m.sessionId,
        currentStep: progress.currentStep,
        idleSeconds: progress.idleSeconds,
        joinedAt: m.joinedAt ?? w.createdAt,
        // An ended session is not stuck: it is gone, and says why.
        ...(progress.stuck && !ended ? { stuck: progress.stuck } : {}),
        state: ended ? 'ended' : 'live',
        ...(ended ? { endedReason: m.endReason ?? 'lost' } : {}),
        steps: progress.steps,
      };
    });
    return {
      ...this.describe(w, origin),
      createdAt: w.createdAt,
      warm: { wanted: w.warm, ready: this.warm.get(w.id)?.size ?? 0 },
      steps,
      totals: stepTotals(steps, learners),
      learners,
    };
  }

  csv(id: string): { filename: string; body: string } {
    const view = this.view(id, '');
    return { filename: `${view.code}-${view.lab}-results.csv`, body: resultsCsv(view.steps, view.learners) };
  }

  /** Events of one workshop, as they happen, until the returned handle is disposed or the workshop ends. */
  subscribe(id: string, listener: Listener): { dispose(): void } {
    this.workshop(id);
    const set = this.listeners.get(id) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(id, set);
    return { dispose: () => set.delete(listener) };
  }

  async reset(workshopId: string, sessionId: string, keepProgress: boolean): Promise<void> {
    const member = this.learner(workshopId, sessionId);
    await this.options.sessions.reset(sessionId, {
      keepProgress,
      message: `Your instructor gave you a fresh environment: new containers${keepProgress ? ', with the steps you passed still marked done' : ' and a fresh start at step 1'}.`,
    });
    this.emit(workshopId, { type: 'reset', at: this.now(), name: member.name!, sessionId, keptProgress: keepProgress });
  }

  async removeLearner(workshopId: string, sessionId: string): Promise<void> {
    const member = this.learner(workshopId, sessionId);
    this.options.store.remove(sessionId, this.now());
    // The session-ended listener no longer finds the member: say it here, with the reason.
    this.emit(workshopId, { type: 'removed', at: this.now(), name: member.name!, sessionId, reason: 'instructor' });
    await this.options.sessions.delete(sessionId, 'instructor');
    this.refill(this.workshop(workshopId));
  }

  /** Ends a workshop: every learner's and warm session's containers are removed, and their pages told. */
  async end(id: string): Promise<void> {
    const w = this.workshop(id);
    this.options.store.end(w.id, this.now());
    const members = this.options.store.members(w.id);
    this.warm.delete(w.id);
    this.emit(w.id, { type: 'ended', at: this.now() });
    this.listeners.delete(w.id);
    this.options.log.info('workshop ended', { workshopId: w.id, sessions: members.length });
    await Promise.all(members.filter((m) => m.sessionState === 'live').map((m) => this.options.sessions.delete(m.sessionId, 'workshop-ended')));
  }

  // ---- learners -----------------------------------------------------------------------------------

  /** What a join page shows before asking for a name. */
  publicInfo(rawCode: string): WorkshopPublic {
    const w = this.byCode(rawCode);
    const lab = this.labOf(w);
    return {
      code: w.code,
      title: w.title,
      lab: w.lab,
      labTitle: lab.title,
      seats: w.seats,
      taken: this.learners(w.id).length,
      ...(w.endsAt !== undefined ? { endsAt: w.endsAt } : {}),
    };
  }

  /**
   * A learner joins with the code and a name: a warm session if one is ready, a new one if not.
   * The name is theirs in this workshop: coming back with it and the session's token (the
   * browser keeps it) returns the same session, with 200 instead of 201.
   */
  async join(rawCode: unknown, rawName: unknown, bearer: string | undefined, signal?: AbortSignal): Promise<{ status: 200 | 201; body: WorkshopJoined }> {
    const w = this.byCode(rawCode);
    const parsed = parseLearnerName(rawName);
    if (!parsed.ok) throw new HttpError(400, parsed.error);
    const { name, key } = parsed;
    const existing = this.options.store.memberByName(w.id, key);
    if (existing) return { status: 200, body: await this.rejoin(w, existing, bearer) };

    const pending = this.joining.get(w.id) ?? new Set<string>();
    if (pending.has(key)) throw new HttpError(409, `the name ${JSON.stringify(name)} is already taken in this workshop; pick another`);
    const taken = this.learners(w.id).length + pending.size;
    if (taken >= w.seats) throw new HttpError(409, `the workshop "${w.title}" is full: all ${w.seats} seats are taken; ask your instructor for a seat`);
    pending.add(key);
    this.joining.set(w.id, pending);
    try {
      const warm = this.takeWarm(w, name, key);
      if (warm) {
        if (this.endingWarned.has(w.id)) this.warnOfEnd(w, warm.session);
        this.emit(w.id, { type: 'join', at: this.now(), name, sessionId: warm.session.id, warm: true });
        this.options.log.info('learner joined', { workshopId: w.id, sessionId: warm.session.id, warm: true });
        return { status: 201, body: this.joined(w, warm.session.id, warm.token) };
      }
      const { session, token } = await this.options.sessions.create(w.lab, signal);
      try {
        this.options.store.addLearner(w.id, session.id, name, key, this.now());
      } catch (e) {
        await this.options.sessions.delete(session.id);
        throw e instanceof NameTakenError ? new HttpError(409, e.message) : e;
      }
      if (this.endingWarned.has(w.id)) this.warnOfEnd(w, session);
      this.emit(w.id, { type: 'join', at: this.now(), name, sessionId: session.id, warm: false });
      this.options.log.info('learner joined', { workshopId: w.id, sessionId: session.id, warm: false });
      return { status: 201, body: this.joined(w, session.id, token) };
    } finally {
      pending.delete(key);
      this.refill(w);
    }
  }

  /** The learner whose name it is, proven by their session token: their session, or a new one with their progress if it ended. */
  private async rejoin(w: WorkshopRecord, member: MemberRecord, bearer: string | undefined): Promise<WorkshopJoined> {
    const tokenHash = this.options.sessionStore.tokenHashOf(member.sessionId);
    const owner = tokenHash !== undefined && SessionStore.tokenMatches(tokenHash, bearer);
    if (!owner)
      throw new HttpError(
        409,
        `the name ${JSON.stringify(member.name)} is already taken in this workshop; pick another (to come back as ${JSON.stringify(member.name)}, open the workshop's link in the browser you joined with)`,
      );
    if (this.options.sessions.find(member.sessionId)) return this.joined(w, member.sessionId, bearer!);
    // Their session ended (idle, lost at a restart): a new one, with the steps they had passed.
    const { session, token } = await this.options.sessions.create(w.lab);
    this.options.sessionStore.copyProgress(member.sessionId, session.id);
    this.options.store.move(member.sessionId, session.id);
    const fresh = this.options.sessions.find(session.id);
    fresh?.reloadProgress();
    this.emit(w.id, { type: 'join', at: this.now(), name: member.name!, sessionId: session.id, warm: false });
    return this.joined(w, session.id, token);
  }

  private takeWarm(w: WorkshopRecord, name: string, key: string): { session: Session; token: string } | undefined {
    const ready = this.warm.get(w.id);
    for (const id of ready ?? []) {
      ready!.delete(id);
      const session = this.options.sessions.find(id);
      if (!session) continue;
      try {
        if (!this.options.store.assignWarm(id, name, key, this.now())) continue;
      } catch (e) {
        ready!.add(id);
        throw e instanceof NameTakenError ? new HttpError(409, e.message) : e;
      }
      // The warm session's first token was never given out; the learner gets a new one.
      const token = session.rotateToken();
      session.touch();
      return { session, token };
    }
    return undefined;
  }

  private joined(w: WorkshopRecord, sessionId: string, token: string): WorkshopJoined {
    return { id: sessionId, token, lab: w.lab, url: `/s/${sessionId}?token=${encodeURIComponent(token)}`, workshop: w.id };
  }

  // ---- pool and timers ----------------------------------------------------------------------------

  private tick(): void {
    if (this.stopped) return;
    const now = this.now();
    for (const w of this.options.store.live()) {
      if (w.endsAt !== undefined && now >= w.endsAt) {
        void this.end(w.id).catch((e: Error) => this.options.log.error('ending a workshop failed', { workshopId: w.id, error: e.message }));
        continue;
      }
      if (w.endsAt !== undefined && w.endsAt - now <= ENDING_WARNING_MS && !this.endingWarned.has(w.id)) {
        this.endingWarned.add(w.id);
        for (const m of this.learners(w.id)) this.warnOfEnd(w, this.options.sessions.find(m.sessionId));
      }
      this.refill(w);
    }
  }

  /** Tells a learner's pages that the workshop ends soon (a standing notice: pages opened later see it too). */
  private warnOfEnd(w: WorkshopRecord, session: Session | undefined): void {
    if (w.endsAt === undefined || !session) return;
    session.notify({
      type: 'notice',
      kind: 'workshop-ending',
      at: w.endsAt,
      message: `The workshop "${w.title}" ends soon, and your lab's containers are removed then: copy anything you want to keep.`,
    });
  }

  /** Starts warm sessions until the pool holds what the workshop asked for, within its free seats and the server's cap. */
  private refill(w: WorkshopRecord): void {
    if (this.stopped || w.warm === 0 || !this.warm.has(w.id)) return;
    const ready = this.warm.get(w.id)!;
    const starting = this.filling.get(w.id) ?? 0;
    const freeSeats = w.seats - this.learners(w.id).length - (this.joining.get(w.id)?.size ?? 0);
    const wanted = Math.min(w.warm, freeSeats) - ready.size - starting;
    const room = this.options.sessions.maxSessions - this.options.sessions.load;
    const n = Math.min(wanted, room, WARM_CONCURRENCY - starting);
    for (let i = 0; i < n; i++) {
      this.filling.set(w.id, (this.filling.get(w.id) ?? 0) + 1);
      void this.options.sessions
        .create(w.lab)
        .then(({ session }) => {
          if (!this.warm.has(w.id)) {
            // The workshop ended while this one started.
            void this.options.sessions.delete(session.id, 'workshop-ended');
            return;
          }
          if (this.learners(w.id).length + ready.size >= w.seats) {
            // Cold joins took the free seats while this one started: a warm session nobody can take.
            void this.options.sessions.delete(session.id, 'removed');
            return;
          }
          this.options.store.addWarm(w.id, session.id);
          ready.add(session.id);
          this.emit(w.id, { type: 'pool', at: this.now(), wanted: w.warm, ready: ready.size });
        })
        .catch((e: Error) => this.options.log.warn('starting a warm session failed; the next tick tries again', { workshopId: w.id, error: e.message }))
        .finally(() => this.filling.set(w.id, (this.filling.get(w.id) ?? 1) - 1));
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private isWarm(sessionId: string): boolean {
    for (const set of this.warm.values()) if (set.has(sessionId)) return true;
    return false;
  }

  private limitsOf(sessionId: string): SessionLimits['workshop'] {
    const member = this.options.store.member(sessionId);
    if (!member?.name) return undefined;
    const w = this.options.store.get(member.workshopId);
    if (!w) return undefined;
    return { id: w.id, title: w.title, name: member.name, ...(w.endsAt !== undefined ? { endsAt: w.endsAt } : {}) };
  }

  private emit(workshopId: string, event: WorkshopEvent): void {
    for (const l of this.listeners.get(workshopId) ?? []) {
      try {
        l(event);
      } catch (e) {
        this.options.log.error('a workshop event listener failed', { workshopId, error: (e as Error).message });
      }
    }
  }

  private describe(w: WorkshopRecord, origin: string): Omit<WorkshopCreated, 'warm'> {
    return {
      id: w.id,
      code: w.code,
      joinUrl: `${origin}/join/${w.code}`,
      lab: w.lab,
      title: w.title,
      seats: w.seats,
      ...(w.endsAt !== undefined ? { endsAt: w.endsAt } : {}),
    };
  }

  private workshop(id: string, options: { ended?: boolean } = {}): WorkshopRecord {
    const w = this.options.store.get(id, options);
    if (!w) throw new HttpError(404, `no ${options.ended ? '' : 'live '}workshop ${JSON.stringify(id)} on this server`);
    return w;
  }

  private byCode(raw: unknown): WorkshopRecord {
    const code = normalizeJoinCode(raw);
    if (!code)
      throw new HttpError(
        404,
        `no workshop has the code ${JSON.stringify(String(raw).slice(0, 20))}: a code is six letters and digits, as your instructor gave it`,
      );
    const w = this.options.store.byCode(code);
    if (!w) throw new HttpError(404, `no workshop has the code ${code}; check it with your instructor (a workshop that ended has no code)`);
    return w;
  }

  private labOf(w: WorkshopRecord): Lab {
    const lab = this.options.labs.get(w.lab);
    if (!lab) throw new HttpError(500, `workshop ${w.id} is for lab ${w.lab}, which this server no longer serves`);
    return lab;
  }

  private learners(workshopId: string): MemberRecord[] {
    return this.options.store.members(workshopId).filter((m) => m.name !== undefined);
  }

  /** A learner of this workshop, live. */
  private learner(workshopId: string, sessionId: string): MemberRecord {
    this.workshop(workshopId);
    const member = this.options.store.member(sessionId);
    if (!member?.name || member.workshopId !== workshopId) throw new HttpError(404, `no learner with session ${sessionId} in workshop ${workshopId}`);
    return member;
  }

  /** A learner's live session in this workshop, for the instructor's mirror. */
  learnerSession(workshopId: string, sessionId: string): Session {
    this.learner(workshopId, sessionId);
    return this.options.sessions.lookup(sessionId);
  }

  private freeCode(): string {
    for (let i = 0; i < 20; i++) {
      const code = newJoinCode();
      if (!this.options.store.byCode(code)) return code;
    }
    throw new HttpError(503, 'could not find a free join code; end some workshops');
  }
}

function whole(value: unknown, name: string, min: number, max: number, why: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new HttpError(400, `"${name}" must be a whole number from ${min} to ${max} (${why}); got ${JSON.stringify(value)}`);
  return value;
}
