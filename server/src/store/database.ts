import { mkdirSync } from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';

/** A database file ipvs-lab refuses to use: not SQLite, written by a newer version, or not migratable. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}

/**
 * The schema, as the steps that build it: migration i brings `PRAGMA user_version` from i to i + 1.
 * Append a step to change the schema; never edit one that has shipped, since databases out there already ran it.
 */
const migrations: readonly string[] = [
  // 1: sessions and the results of their checks.
  `CREATE TABLE sessions (
     id TEXT PRIMARY KEY,
     token_hash TEXT NOT NULL,
     lab TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_activity INTEGER NOT NULL,
     environment TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('live', 'ended')),
     ended_at INTEGER,
     end_reason TEXT,
     end_detail TEXT
   );
   CREATE TABLE check_results (
     id INTEGER PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
     step_id TEXT NOT NULL,
     passed INTEGER NOT NULL,
     message TEXT NOT NULL,
     at INTEGER NOT NULL
   );
   CREATE INDEX check_results_by_step ON check_results (session_id, step_id);`,
  // 2: workshops, their learners and warm sessions, and server settings (the instructor secret's hash).
  `CREATE TABLE workshops (
     id TEXT PRIMARY KEY,
     code TEXT NOT NULL,
     lab TEXT NOT NULL,
     title TEXT NOT NULL,
     seats INTEGER NOT NULL,
     warm INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     ends_at INTEGER,
     ended_at INTEGER
   );
   CREATE UNIQUE INDEX workshops_live_code ON workshops (code) WHERE ended_at IS NULL;
   CREATE TABLE workshop_sessions (
     session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
     workshop_id TEXT NOT NULL REFERENCES workshops(id) ON DELETE CASCADE,
     name TEXT,
     name_key TEXT,
     joined_at INTEGER,
     removed_at INTEGER
   );
   CREATE INDEX workshop_sessions_by_workshop ON workshop_sessions (workshop_id);
   CREATE UNIQUE INDEX workshop_names ON workshop_sessions (workshop_id, name_key) WHERE name_key IS NOT NULL AND removed_at IS NULL;
   CREATE TABLE settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
  // 3: how many hints of each challenge step a learner revealed.
  `CREATE TABLE hints_revealed (
     session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
     step_id TEXT NOT NULL,
     revealed INTEGER NOT NULL CHECK (revealed > 0),
     at INTEGER NOT NULL,
     PRIMARY KEY (session_id, step_id)
   );`,
];

/**
 * Opens (creating it and its folder if needed) the SQLite file that holds ipvs-lab's state, and brings its schema up to date.
 *
 * @param file Path of the database file; its folder is created readable by this user only. `:memory:` keeps nothing.
 * @returns The open connection; the caller closes it.
 * @throws {StoreError} When the file is not a SQLite database or was written by a newer ipvs-lab (both leave it untouched),
 *   cannot use a write-ahead log, or a migration fails (that migration is rolled back).
 */
export function openDatabase(file: string): Database.Database {
  const inMemory = file === ':memory:';
  if (!inMemory) mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let db: Database.Database;
  try {
    db = new Database(file);
  } catch (err) {
    throw new StoreError(`cannot open ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    db.pragma('busy_timeout = 5000');
    refuseNewer(db, file);
    // A database in memory (a test run that keeps nothing) has no journal to survive a kill with.
    if (!inMemory) useWriteAheadLog(db, file);
    db.pragma('foreign_keys = ON');
    migrate(db, file);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The schema version stored in the file, which is also the first read of it: a file that is not SQLite fails here. */
function schemaVersion(db: Database.Database, file: string): number {
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } catch (err) {
    if (err instanceof Database.SqliteError && err.code === 'SQLITE_NOTADB') {
      throw new StoreError(`${file} is not a SQLite database`, { cause: err });
    }
    throw err;
  }
}

function refuseNewer(db: Database.Database, file: string): void {
  const found = schemaVersion(db, file);
  if (found > migrations.length) {
    throw new StoreError(
      `${file} was written by a newer ipvs-lab (schema ${found}; this one knows ${migrations.length}): upgrade ipvs-lab or point it at another file`,
    );
  }
}

function useWriteAheadLog(db: Database.Database, file: string): void {
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') {
    throw new StoreError(`${file} cannot use a write-ahead log (journal mode stays ${String(mode)}); put it on a local filesystem`);
  }
  // With a write-ahead log, a commit is in the OS's hands before it returns, so a killed process loses nothing;
  // only a power cut can undo the last commits, and it cannot corrupt the file. FULL would fsync every write for that.
  db.pragma('synchronous = NORMAL');
}

function migrate(db: Database.Database, file: string): void {
  const apply = db.transaction((from: number, sql: string) => {
    // Read again under the write lock: another process opening the same file may have just applied this step.
    if (schemaVersion(db, file) !== from) return;
    db.exec(sql);
    db.pragma(`user_version = ${from + 1}`);
  });
  for (const [from, sql] of migrations.entries()) {
    if (from < schemaVersion(db, file)) continue;
    try {
      // IMMEDIATE takes the write lock before the version is read, so two servers starting at once cannot both apply a step.
      apply.immediate(from, sql);
    } catch (err) {
      throw new StoreError(`${file}: migration to schema ${from + 1} failed: ${(err as Error).message}`, { cause: err });
    }
  }
}
