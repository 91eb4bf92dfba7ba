import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import Database from 'better-sqlite3';

import { StoreError } from './database.js';

/**
 * Why a session ended: the learner deleted it, it sat idle too long, its containers vanished, an
 * operator removed it, its workshop's instructor removed the learner, or the workshop ended.
 */
export type EndReason = 'deleted' | 'idle' | 'lost' | 'removed' | 'instructor' | 'workshop-ended';

/** A live session as stored: enough to adopt its containers again after a restart. */
export interface SessionRecord {
  readonly id: string;
  /** Hex SHA-256 of the session's token; the token itself is never stored. */
  readonly tokenHash: string;
  readonly lab: string;
  /** Milliseconds since the epoch, as are all times here. */
  readonly createdAt: number;
  readonly lastActivity: number;
  /** What the container runtime needs to find the session's network, hosts and containers; opaque to the store. */
  readonly environment: unknown;
}

/** What is kept of a session once it has ended, so a learner who comes back can be told why it is gone. */
export interface EndedSession {
  readonly id: string;
  readonly lab: string;
  readonly endedAt: number;
  readonly reason: EndReason;
  readonly detail: string | undefined;
}

interface SessionRow extends Omit<SessionRecord, 'environment'> {
  readonly environment: string;
}

interface EndedRow extends Omit<EndedSession, 'detail'> {
  readonly detail: string | null;
}

const SESSION_COLUMNS = 'id, token_hash AS tokenHash, lab, created_at AS createdAt, last_activity AS lastActivity, environment';

/**
 * Sessions and the results of their checks, in the database {@link openDatabase} opened, so they outlive the server process.
 *
 * Every call is one small synchronous statement: better-sqlite3 is synchronous by design, and each takes microseconds.
 */
export class SessionStore {
  readonly #insert;
  readonly #live;
  readonly #ended;
  readonly #touch;
  readonly #end;
  readonly #recordCheck;
  readonly #passedSteps;
  readonly #pruneEnded;
  readonly #setTokenHash;
  readonly #setEnvironment;
  readonly #clearChecks;
  readonly #copyPassed;
  readonly #tokenHash;
  readonly #revealHint;
  readonly #hints;
  readonly #clearHints;
  readonly #copyHints;

  constructor(db: Database.Database) {
    this.#insert = db.prepare<SessionRow>(
      `INSERT INTO sessions (id, token_hash, lab, created_at, last_activity, environment, state)
       VALUES (@id, @tokenHash, @lab, @createdAt, @lastActivity, @environment, 'live')`,
    );
    // rowid breaks ties between sessions created in the same millisecond, in the order they were inserted.
    this.#live = db.prepare<[], SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE state = 'live' ORDER BY created_at, rowid`);
    this.#ended = db.prepare<[string], EndedRow>(
      `SELECT id, lab, ended_at AS endedAt, end_reason AS reason, end_detail AS detail FROM sessions WHERE id = ? AND state = 'ended'`,
    );
    this.#touch = db.prepare<[number, string]>(`UPDATE sessions SET last_activity = ? WHERE id = ? AND state = 'live'`);
    this.#end = db.prepare<[number, EndReason, string | null, string]>(
      `UPDATE sessions SET state = 'ended', ended_at = ?, end_reason = ?, end_detail = ? WHERE id = ? AND state = 'live'`,
    );
    this.#recordCheck = db.prepare<[string, string, number, string, number]>(
      `INSERT INTO check_results (session_id, step_id, passed, message, at) VALUES (?, ?, ?, ?, ?)`,
    );
    this.#passedSteps = db.prepare<[string], { stepId: string; at: number }>(
      `SELECT step_id AS stepId, min(at) AS at FROM check_results WHERE session_id = ? AND passed = 1 GROUP BY step_id`,
    );
    // A workshop's results outlive its sessions for as long as the workshop is kept.
    this.#pruneEnded = db.prepare<{ cutoff: number }>(
      `DELETE FROM sessions WHERE state = 'ended' AND ended_at < @cutoff
         AND id NOT IN (SELECT ws.session_id FROM workshop_sessions ws JOIN workshops w ON w.id = ws.workshop_id
                        WHERE w.ended_at IS NULL OR w.ended_at >= @cutoff)`,
    );
    this.#setTokenHash = db.prepare<[string, string]>(`UPDATE sessions SET token_hash = ? WHERE id = ? AND state = 'live'`);
    this.#setEnvironment = db.prepare<[string, string]>(`UPDATE sessions SET environment = ? WHERE id = ? AND state = 'live'`);
    this.#clearChecks = db.prepare<[string]>(`DELETE FROM check_results WHERE session_id = ?`);
    this.#copyPassed = db.prepare<[string, string]>(
      `INSERT INTO check_results (session_id, step_id, passed, message, at)
       SELECT ?, step_id, 1, message, at FROM check_results WHERE session_id = ? AND passed = 1`,
    );
    this.#tokenHash = db.prepare<[string], { tokenHash: string }>(`SELECT token_hash AS tokenHash FROM sessions WHERE id = ?`);
    // One statement, so two tabs asking at once reveal two hints, never the same one twice or one past the last.
    this.#revealHint = db.prepare<{ session: string; step: string; max: number; at: number }, { revealed: number }>(
      `INSERT INTO hints_revealed (session_id, step_id, revealed, at) VALUES (@session, @step, 1, @at)
       ON CONFLICT (session_id, step_id) DO UPDATE SET revealed = min(revealed + 1, @max), at = @at
       RETURNING revealed`,
    );
    this.#hints = db.prepare<[string], { stepId: string; revealed: number }>(`SELECT step_id AS stepId, revealed FROM hints_revealed WHERE session_id = ?`);
    this.#clearHints = db.prepare<[string]>(`DELETE FROM hints_revealed WHERE session_id = ?`);
    this.#copyHints = db.prepare<[string, string]>(
      `INSERT OR REPLACE INTO hints_revealed (session_id, step_id, revealed, at) SELECT ?, step_id, revealed, at FROM hints_revealed WHERE session_id = ?`,
    );
  }

  /** A new session token: 192 random bits. */
  static newToken(): string {
    return randomBytes(24).toString('base64url');
  }

  /** Hex SHA-256 of a session token, which is what the store keeps in its place. */
  static hashToken(token: string): string {
    return createHash('sha256').update(token, 'utf8').digest('hex');
  }

  /**
   * Whether `token` hashes to `tokenHash` (a session's, or the instructor's secret's), compared in
   * constant time so the answer's timing reveals nothing.
   */
  static tokenMatches(tokenHash: string, token: string | undefined): boolean {
    if (token === undefined) return false;
    const expected = Buffer.from(tokenHash, 'hex');
    const given = Buffer.from(SessionStore.hashToken(token), 'hex');
    // timingSafeEqual throws on buffers of different lengths; a stored hash of another length is corrupt and matches nothing.
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  /** Stores a new live session. */
  insert(record: SessionRecord): void {
    const environment = JSON.stringify(record.environment) as string | undefined;
    if (environment === undefined) {
      throw new StoreError(`session ${record.id}: its environment cannot be written as JSON (${typeof record.environment})`);
    }
    this.#insert.run({ ...record, environment });
  }

  /** Every live session, oldest first. */
  live(): SessionRecord[] {
    return this.#live.all().map((row) => ({ ...row, environment: parseEnvironment(row) }));
  }

  /** Why and when session `id` ended; undefined when it is live or was never stored (or has been pruned). */
  ended(id: string): EndedSession | undefined {
    const row = this.#ended.get(id);
    return row && { ...row, detail: row.detail ?? undefined };
  }

  /** Records activity in live session `id` at time `at`. */
  touch(id: string, at: number): void {
    this.#touch.run(at, id);
  }

  /**
   * Marks live session `id` ended, keeping its row so a learner who comes back is told why it is gone.
   * Ending a session that is unknown or already ended changes nothing, so the first reason given stands.
   */
  end(id: string, reason: EndReason, at: number, detail?: string): void {
    this.#end.run(at, reason, detail ?? null, id);
  }

  /** Records one run of the check of step `stepId` in session `sessionId`. */
  recordCheck(sessionId: string, stepId: string, passed: boolean, message: string, at: number): void {
    ofSession(sessionId, `record a check of step ${stepId}`, () => this.#recordCheck.run(sessionId, stepId, passed ? 1 : 0, message, at));
  }

  /** Each step of session `sessionId` that has passed its check, with the time it first passed. */
  passedSteps(sessionId: string): Map<string, number> {
    return new Map(this.#passedSteps.all(sessionId).map((row) => [row.stepId, row.at]));
  }

  /** Gives live session `id` a new token (a warm session handed to the learner who joined). */
  setTokenHash(id: string, tokenHash: string): void {
    this.#setTokenHash.run(tokenHash, id);
  }

  /** The token hash of session `id`, live or ended: a learner coming back to an ended session proves who they are with it. */
  tokenHashOf(id: string): string | undefined {
    return this.#tokenHash.get(id)?.tokenHash;
  }

  /** Records the new containers of live session `id` (its environment was reset). */
  setEnvironment(id: string, environment: unknown): void {
    this.#setEnvironment.run(JSON.stringify(environment), id);
  }

  /** Forgets every check result and revealed hint of session `id` (a reset that clears progress). */
  clearProgress(id: string): void {
    this.#clearChecks.run(id);
    this.#clearHints.run(id);
  }

  /**
   * Gives session `to` the passed checks and the revealed hints of session `from` (a learner who
   * comes back to a workshop after their session ended).
   */
  copyProgress(from: string, to: string): void {
    this.#copyPassed.run(to, from);
    this.#copyHints.run(to, from);
  }

  /**
   * Reveals one more hint of challenge step `stepId` (of `max`), and returns how many are
   * revealed now; at `max`, it stays there.
   */
  revealHint(sessionId: string, stepId: string, max: number, at: number): number {
    const row = ofSession(sessionId, `reveal a hint of step ${stepId}`, () => this.#revealHint.get({ session: sessionId, step: stepId, max, at }));
    if (!row) throw new StoreError(`cannot reveal a hint of step ${stepId} of session ${sessionId}`);
    return row.revealed;
  }

  /** Step id → hints revealed, for the challenge steps of session `sessionId` where any were. */
  hintsRevealed(sessionId: string): Map<string, number> {
    return new Map(this.#hints.all(sessionId).map((row) => [row.stepId, row.revealed]));
  }

  /**
   * Forgets sessions that ended before `olderThan`, with their check results.
   * @returns How many sessions were forgotten.
   */
  pruneEnded(olderThan: number): number {
    return this.#pruneEnded.run({ cutoff: olderThan }).changes;
  }
}

/** Runs a write that belongs to session `sessionId`; its row missing (a foreign key) is said as a StoreError: "cannot <what>". */
function ofSession<T>(sessionId: string, what: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
      throw new StoreError(`cannot ${what}: there is no session ${sessionId}`, { cause: err });
    }
    throw err;
  }
}

function parseEnvironment(row: SessionRow): unknown {
  try {
    return JSON.parse(row.environment);
  } catch (err) {
    throw new StoreError(`session ${row.id}: its stored environment is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}
