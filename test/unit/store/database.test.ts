import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import Database from 'better-sqlite3';

import { openDatabase, StoreError } from '../../../server/src/store/database.js';

let scratch = '';
beforeEach(() => (scratch = mkdtempSync(path.join(tmpdir(), 'ipvs-lab-store-'))));
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

/** The schema version this code migrates to, as a fresh file shows it. */
function currentVersion(): number {
  const db = openDatabase(path.join(scratch, 'probe.db'));
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

/** The error `openDatabase(file)` refuses with; fails the test when it opens instead. */
function refusal(file: string): StoreError {
  try {
    openDatabase(file).close();
  } catch (err) {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    return err;
  }
  assert.fail(`${file} opened, but it should have been refused`);
}

function tableNames(db: Database.Database): string[] {
  const rows = db.prepare<[], { name: string }>(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).all();
  return rows.map((row) => row.name);
}

describe('openDatabase', () => {
  it('creates its folder for this user only and sets the durability and integrity pragmas', () => {
    const folder = path.join(scratch, 'state', 'ipvs-lab');
    const db = openDatabase(path.join(folder, 'lab.db'));
    try {
      assert.equal(statSync(folder).mode & 0o777, 0o700);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('synchronous', { simple: true }), 1); // NORMAL
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
      assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
    } finally {
      db.close();
    }
  });

  it('brings a new file to the current schema', () => {
    const db = openDatabase(path.join(scratch, 'lab.db'));
    try {
      assert.ok((db.pragma('user_version', { simple: true }) as number) >= 1);
      assert.deepEqual(tableNames(db), ['check_results', 'hints_revealed', 'sessions', 'settings', 'workshop_sessions', 'workshops']);
    } finally {
      db.close();
    }
  });

  it('refuses a file written by a newer schema, naming the file and both versions, and leaves it untouched', () => {
    const known = currentVersion();
    const file = path.join(scratch, 'newer.db');
    const newer = new Database(file);
    newer.pragma(`user_version = ${known + 2}`);
    newer.close();

    const err = refusal(file);
    assert.ok(err.message.includes(file), err.message);
    assert.ok(err.message.includes(`was written by a newer ipvs-lab (schema ${known + 2}; this one knows ${known})`), err.message);

    const after = new Database(file);
    try {
      assert.equal(after.pragma('user_version', { simple: true }), known + 2);
      assert.equal(after.pragma('journal_mode', { simple: true }), 'delete');
      assert.deepEqual(tableNames(after), []);
    } finally {
      after.close();
    }
  });

  it('refuses a file that is not a SQLite database, naming it, and leaves it untouched', () => {
    const file = path.join(scratch, 'notes.txt');
    const text = 'These are notes, not a database.\n'.repeat(20);
    writeFileSync(file, text);

    const err = refusal(file);
    assert.equal(err.message, `${file} is not a SQLite database`);
    assert.equal(readFileSync(file, 'utf8'), text);
  });

  it('rolls a failed migration back whole and names the file and the schema it was migrating to', () => {
    // A table in the way makes migration 1 fail after nothing, or part, of it has run.
    const file = path.join(scratch, 'in-the-way.db');
    const blocked = new Database(file);
    blocked.exec('CREATE TABLE check_results (x INTEGER)');
    blocked.close();

    const err = refusal(file);
    assert.ok(err.message.startsWith(`${file}: migration to schema 1 failed: `), err.message);

    const after = new Database(file);
    try {
      assert.equal(after.pragma('user_version', { simple: true }), 0);
      assert.deepEqual(tableNames(after), ['check_results'], 'the sessions table, created before the failure, is rolled back');
    } finally {
      after.close();
    }
  });
});
