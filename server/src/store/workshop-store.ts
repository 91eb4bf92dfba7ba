import Database from 'better-sqlite3';

import type { CheckRow } from '../workshops/progress.js';

/** A workshop as stored. Times are milliseconds since the epoch. */
export interface WorkshopRecord {
  readonly id: string;
  readonly code: string;
  readonly lab: string;
  readonly title: string;
  readonly seats: number;
  readonly warm: number;
  readonly createdAt: number;
  readonly endsAt: number | undefined;
}

/** A session of a workshop: a learner's (with a name) or a warm one nobody has joined yet. */
export interface MemberRecord {
  readonly sessionId: string;
  readonly workshopId: string;
  /** Undefined for a warm session. */
  readonly name: string | undefined;
  readonly joinedAt: number | undefined;
  /** The session's state in the sessions table, and why it ended. */
  readonly sessionState: 'live' | 'ended';
  readonly endReason: string | undefined;
  readonly lastActivity: number;
}

/** Thrown when a name is already taken in a workshop (the unique index says so). */
export class NameTakenError extends Error {
  override readonly name = 'NameTakenError';
}

interface WorkshopRow {
  id: string;
  code: string;
  lab: string;
  title: string;
  seats: number;
  warm: number;
  createdAt: number;
  endsAt: number | null;
}

interface MemberRow {
  sessionId: string;
  workshopId: string;
  name: string | null;
  joinedAt: number | null;
  sessionState: 'live' | 'ended';
  endReason: string | null;
  lastActivity: number;
}

const WORKSHOP_COLUMNS = 'id, code, lab, title, seats, warm, created_at AS createdAt, ends_at AS endsAt';
const MEMBER_SELECT = `SELECT ws.session_id AS sessionId, ws.workshop_id AS workshopId, ws.name, ws.joined_at AS joinedAt,
  s.state AS sessionState, s.end_reason AS endReason, s.last_activity AS lastActivity
  FROM workshop_sessions ws JOIN sessions s ON s.id = ws.session_id`;

/**
 * Workshops, the sessions that belong to them and the server's settings, in the same database as
 * the sessions, so a restart keeps every learner's seat, name and results.
 */
export class WorkshopStore {
  readonly #insert;
  readonly #live;
  readonly #byId;
  readonly #byIdAny;
  readonly #byCode;
  readonly #end;
  readonly #addMember;
  readonly #assign;
  readonly #members;
  readonly #memberBySession;
  readonly #memberByKey;
  readonly #remove;
  readonly #move;
  readonly #checks;
  readonly #hints;
  readonly #getSetting;
  readonly #setSetting;
  readonly #pruneEnded;

  constructor(db: Database.Database) {
    this.#insert = db.prepare<WorkshopRow>(
      `INSERT INTO workshops (id, code, lab, title, seats, warm, created_at, ends_at) VALUES (@id, @code, @lab, @title, @seats, @warm, @createdAt, @endsAt)`,
    );
    this.#live = db.prepare<[], WorkshopRow>(`SELECT ${WORKSHOP_COLUMNS} FROM workshops WHERE ended_at IS NULL ORDER BY created_at, rowid`);
    this.#byId = db.prepare<[string], WorkshopRow>(`SELECT ${WORKSHOP_COLUMNS} FROM workshops WHERE id = ? AND ended_at IS NULL`);
    this.#byIdAny = db.prepare<[string], WorkshopRow>(`SELECT ${WORKSHOP_COLUMNS} FROM workshops WHERE id = ?`);
    this.#byCode = db.prepare<[string], WorkshopRow>(`SELECT ${WORKSHOP_COLUMNS} FROM workshops WHERE code = ? AND ended_at IS NULL`);
    this.#end = db.prepare<[number, string]>(`UPDATE workshops SET ended_at = ? WHERE id = ? AND ended_at IS NULL`);
    this.#addMember = db.prepare<[string, string, string | null, string | null, number | null]>(
      `INSERT INTO workshop_sessions (session_id, workshop_id, name, name_key, joined_at) VALUES (?, ?, ?, ?, ?)`,
    );
    this.#assign = db.prepare<[string, string, number, string]>(
      `UPDATE workshop_sessions SET name = ?, name_key = ?, joined_at = ? WHERE session_id = ? AND name IS NULL`,
    );
    // Removed learners are gone from the workshop's view and results; warm sessions come last.
    this.#members = db.prepare<[string], MemberRow>(
      `${MEMBER_SELECT} WHERE ws.workshop_id = ? AND ws.removed_at IS NULL ORDER BY ws.joined_at IS NULL, ws.joined_at, ws.rowid`,
    );
    this.#memberBySession = db.prepare<[string], MemberRow>(`${MEMBER_SELECT} WHERE ws.session_id = ? AND ws.removed_at IS NULL`);
    this.#memberByKey = db.prepare<[string, string], MemberRow>(`${MEMBER_SELECT} WHERE ws.workshop_id = ? AND ws.name_key = ? AND ws.removed_at IS NULL`);
    this.#remove = db.prepare<[number, string]>(`UPDATE workshop_sessions SET removed_at = ? WHERE session_id = ? AND removed_at IS NULL`);
    this.#move = db.prepare<[string, string]>(`UPDATE workshop_sessions SET session_id = ? WHERE session_id = ?`);
    this.#checks = db.prepare<[string], { sessionId: string; stepId: string; passed: number; message: string; at: number }>(
      `SELECT c.session_id AS sessionId, c.step_id AS stepId, c.passed, c.message, c.at FROM check_results c
       JOIN workshop_sessions ws ON ws.session_id = c.session_id
       WHERE ws.workshop_id = ? AND ws.removed_at IS NULL AND ws.name IS NOT NULL ORDER BY c.id`,
    );
    this.#hints = db.prepare<[string], { sessionId: string; stepId: string; revealed: number }>(
      `SELECT h.session_id AS sessionId, h.step_id AS stepId, h.revealed FROM hints_revealed h
       JOIN workshop_sessions ws ON ws.session_id = h.session_id
       WHERE ws.workshop_id = ? AND ws.removed_at IS NULL AND ws.name IS NOT NULL`,
    );
    this.#getSetting = db.prepare<[string], { value: string }>(`SELECT value FROM settings WHERE key = ?`);
    this.#setSetting = db.prepare<[string, string]>(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
    this.#pruneEnded = db.prepare<[number]>(`DELETE FROM workshops WHERE ended_at IS NOT NULL AND ended_at < ?`);
  }

  insert(w: WorkshopRecord): void {
    this.#insert.run({ ...w, endsAt: w.endsAt ?? null });
  }

  live(): WorkshopRecord[] {
    return this.#live.all().map(toWorkshop);
  }

  /** The live workshop with this id (or with `ended`, one that ended and is still kept), if any. */
  get(id: string, options: { ended?: boolean } = {}): WorkshopRecord | undefined {
    const row = (options.ended ? this.#byIdAny : this.#byId).get(id);
    return row && toWorkshop(row);
  }

  /** The live workshop with this join code, if any. */
  byCode(code: string): WorkshopRecord | undefined {
    const row = this.#byCode.get(code);
    return row && toWorkshop(row);
  }

  end(id: string, at: number): void {
    this.#end.run(at, id);
  }

  /** Records a warm session of a workshop: started, nobody's yet. */
  addWarm(workshopId: string, sessionId: string): void {
    this.#addMember.run(sessionId, workshopId, null, null, null);
  }

  /**
   * Records a learner in a workshop, on a session of their own.
   * @throws {NameTakenError} when another learner of the workshop has that name.
   */
  addLearner(workshopId: string, sessionId: string, name: string, key: string, at: number): void {
    uniqueName(() => this.#addMember.run(sessionId, workshopId, name, key, at), name);
  }

  /**
   * Hands warm session `sessionId` to a learner. False if it was no longer warm.
   * @throws {NameTakenError} when another learner of the workshop has that name.
   */
  assignWarm(sessionId: string, name: string, key: string, at: number): boolean {
    return uniqueName(() => this.#assign.run(name, key, at, sessionId), name).changes === 1;
  }

  /** The learners and warm sessions of a workshop, learners first in the order they joined. */
  members(workshopId: string): MemberRecord[] {
    return this.#members.all(workshopId).map(toMember);
  }

  member(sessionId: string): MemberRecord | undefined {
    const row = this.#memberBySession.get(sessionId);
    return row && toMember(row);
  }

  memberByName(workshopId: string, key: string): MemberRecord | undefined {
    const row = this.#memberByKey.get(workshopId, key);
    return row && toMember(row);
  }

  /** Takes a learner (or warm session) out of the workshop: their seat and name are free again. */
  remove(sessionId: string, at: number): void {
    this.#remove.run(at, sessionId);
  }

  /** Moves a learner to a new session (theirs had ended and they came back). */
  move(fromSessionId: string, toSessionId: string): void {
    this.#move.run(toSessionId, fromSessionId);
  }

  /** Every check of the workshop's learners, oldest first, grouped by session. */
  checks(workshopId: string): Map<string, CheckRow[]> {
    const bySession = new Map<string, CheckRow[]>();
    for (const row of this.#checks.all(workshopId)) {
      const list = bySession.get(row.sessionId) ?? [];
      list.push({ stepId: row.stepId, passed: row.passed === 1, message: row.message, at: row.at });
      bySession.set(row.sessionId, list);
    }
    return bySession;
  }

  /** Hints each learner of the workshop revealed: session id → step id → how many. */
  hints(workshopId: string): Map<string, Map<string, number>> {
    const bySession = new Map<string, Map<string, number>>();
    for (const row of this.#hints.all(workshopId)) {
      const steps = bySession.get(row.sessionId) ?? new Map<string, number>();
      steps.set(row.stepId, row.revealed);
      bySession.set(row.sessionId, steps);
    }
    return bySession;
  }

  setting(key: string): string | undefined {
    return this.#getSetting.get(key)?.value;
  }

  setSetting(key: string, value: string): void {
    this.#setSetting.run(key, value);
  }

  /** Forgets workshops that ended before `olderThan`, and which of their sessions belonged to them. */
  pruneEnded(olderThan: number): number {
    return this.#pruneEnded.run(olderThan).changes;
  }
}

function uniqueName<T>(write: () => T, name: string): T {
  try {
    return write();
  } catch (err) {
    if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_UNIQUE' && /name_key|workshop_names/.test(err.message))
      throw new NameTakenError(`the name ${JSON.stringify(name)} is already taken in this workshop`, { cause: err });
    throw err;
  }
}

function toWorkshop(row: WorkshopRow): WorkshopRecord {
  return { ...row, endsAt: row.endsAt ?? undefined };
}

function toMember(row: MemberRow): MemberRecord {
  return {
    sessionId: row.sessionId,
    workshopId: row.workshopId,
    name: row.name ?? undefined,
    joinedAt: row.joinedAt ?? undefined,
    sessionState: row.sessionState,
    endReason: row.endReason ?? undefined,
    lastActivity: row.lastActivity,
  };
}
