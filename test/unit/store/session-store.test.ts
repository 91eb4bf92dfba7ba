import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type Database from 'better-sqlite3';

import { openDatabase } from '../../../server/src/store/database.js';
import { SessionStore, type SessionRecord } from '../../../server/src/store/session-store.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

let scratch = '';
let file = '';
let db: Database.Database;
let store: SessionStore;

beforeEach(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'ipvs-lab-store-'));
  file = path.join(scratch, 'lab.db');
  db = openDatabase(file);
  store = new SessionStore(db);
});
afterEach(() => {
  if (db.open) db.close();
  rmSync(scratch, { recursive: true, force: true });
});

const environment = {
  network: { id: 'net-4f2a', subnet: '10.77.3.0/24' },
  hosts: [
    { name: 'director', address: '10.77.3.2', containerId: 'c0ffee01' },
    { name: 'real1', address: '10.77.3.11', containerId: 'c0ffee02' },
  ],
};

function session(id: string, createdAt: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return { id, tokenHash: SessionStore.hashToken(`token-of-${id}`), lab: 'ipvs-intro', createdAt, lastActivity: createdAt, environment, ...overrides };
}

function reopen(): void {
  db.close();
  db = openDatabase(file);
  store = new SessionStore(db);
}

function checkResultCount(sessionId: string): number {
  return db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM check_results WHERE session_id = ?').get(sessionId)?.n ?? -1;
}

describe('SessionStore', () => {
  it('gives back a stored session as it was inserted, environment included', () => {
    const record = session('s1', 1_700_000_000_123);
    store.insert(record);
    assert.deepEqual(store.live(), [record]);
  });

  it('lists live sessions oldest first, whatever order they were inserted in', () => {
    store.insert(session('late', 3000));
    store.insert(session('early', 1000));
    store.insert(session('middle', 2000));
    assert.deepEqual(
      store.live().map((s) => s.id),
      ['early', 'middle', 'late'],
    );
  });

  it('refuses an environment that cannot be written as JSON, naming the session', () => {
    assert.throws(() => store.insert(session('s1', 1000, { environment: undefined })), {
      name: 'StoreError',
      message: 'session s1: its environment cannot be written as JSON (undefined)',
    });
    assert.deepEqual(store.live(), []);
  });

  it('touch updates the last activity of that session only', () => {
    store.insert(session('s1', 1000));
    store.insert(session('s2', 1000));
    store.touch('s1', 5000);
    assert.deepEqual(
      store.live().map((s) => [s.id, s.createdAt, s.lastActivity]),
      [
        ['s1', 1000, 5000],
        ['s2', 1000, 1000],
      ],
    );
  });

  it('end keeps why and when a session ended, and takes it out of the live ones', () => {
    store.insert(session('s1', 1000));
    store.insert(session('s2', 1000));
    assert.equal(store.ended('s1'), undefined, 'a live session has not ended');

    store.end('s1', 'lost', 9000, 'container c0ffee01 is gone');
    store.end('s2', 'deleted', 9500);

    assert.deepEqual(store.ended('s1'), { id: 's1', lab: 'ipvs-intro', endedAt: 9000, reason: 'lost', detail: 'container c0ffee01 is gone' });
    assert.deepEqual(store.ended('s2'), { id: 's2', lab: 'ipvs-intro', endedAt: 9500, reason: 'deleted', detail: undefined });
    assert.deepEqual(store.live(), []);
  });

  it('ending an ended or unknown session changes nothing: the first reason stands', () => {
    store.insert(session('s1', 1000));
    store.end('s1', 'idle', 9000, 'idle for 30 minutes');
    store.end('s1', 'removed', 9999, 'by an operator');
    store.end('nobody', 'deleted', 9999);

    assert.deepEqual(store.ended('s1'), { id: 's1', lab: 'ipvs-intro', endedAt: 9000, reason: 'idle', detail: 'idle for 30 minutes' });
    assert.equal(store.ended('nobody'), undefined);
  });

  it('passedSteps keeps the time of the first passing check of each step, and only that session’s', () => {
    store.insert(session('s1', 1000));
    store.insert(session('s2', 1000));
    store.recordCheck('s1', 'create-service', false, 'no virtual service on 10.77.3.2:80', 2000);
    store.recordCheck('s1', 'create-service', true, 'ok', 3000);
    store.recordCheck('s1', 'create-service', true, 'ok', 4000);
    store.recordCheck('s1', 'add-real-servers', false, 'no real servers', 4500);
    store.recordCheck('s2', 'add-real-servers', true, 'ok', 5000);

    assert.deepEqual(store.passedSteps('s1'), new Map([['create-service', 3000]]));
    assert.deepEqual(store.passedSteps('s2'), new Map([['add-real-servers', 5000]]));
    assert.deepEqual(store.passedSteps('nobody'), new Map());
  });

  it('refuses a check result for a session it does not know, naming it', () => {
    assert.throws(() => store.recordCheck('ghost', 'create-service', true, 'ok', 1000), {
      name: 'StoreError',
      message: 'cannot record a check of step create-service: there is no session ghost',
    });
  });

  it('pruneEnded forgets sessions that ended before the given time, with their check results', () => {
    store.insert(session('old', 1000));
    store.insert(session('recent', 1000));
    store.insert(session('live', 1000));
    for (const id of ['old', 'recent', 'live']) store.recordCheck(id, 'create-service', true, 'ok', 1500);
    store.end('old', 'idle', 2000);
    store.end('recent', 'deleted', 8000);

    assert.equal(store.pruneEnded(5000), 1);

    assert.equal(store.ended('old'), undefined);
    assert.equal(checkResultCount('old'), 0);
    assert.equal(store.ended('recent')?.reason, 'deleted');
    assert.equal(checkResultCount('recent'), 1);
    assert.deepEqual(
      store.live().map((s) => s.id),
      ['live'],
    );
    assert.equal(checkResultCount('live'), 1);
    assert.equal(store.pruneEnded(5000), 0);
  });

  it('keeps everything across closing and reopening the file, without migrating it again', () => {
    store.insert(session('s1', 1000));
    store.insert(session('s2', 1000));
    store.touch('s1', 4000);
    store.recordCheck('s1', 'create-service', true, 'ok', 3000);
    store.end('s2', 'removed', 6000, 'by an operator');
    const version = db.pragma('user_version', { simple: true }) as number;

    reopen();
    reopen();

    assert.equal(db.pragma('user_version', { simple: true }), version);
    assert.deepEqual(store.live(), [session('s1', 1000, { lastActivity: 4000 })]);
    assert.deepEqual(store.passedSteps('s1'), new Map([['create-service', 3000]]));
    assert.deepEqual(store.ended('s2'), { id: 's2', lab: 'ipvs-intro', endedAt: 6000, reason: 'removed', detail: 'by an operator' });
  });

  it('keeps what a process wrote before it was killed with SIGKILL', { timeout: 30_000 }, async () => {
    db.close();
    const record = session('s1', 1000);
    // The writer never closes the database: what survives is only what its commits put in the write-ahead log.
    const writer = path.join(scratch, 'writer.ts');
    const storeDir = path.join(repoRoot, 'server', 'src', 'store');
    writeFileSync(
      writer,
      `import { openDatabase } from ${JSON.stringify(pathToFileURL(path.join(storeDir, 'database.ts')).href)};
       import { SessionStore } from ${JSON.stringify(pathToFileURL(path.join(storeDir, 'session-store.ts')).href)};
       const store = new SessionStore(openDatabase(${JSON.stringify(file)}));
       store.insert(${JSON.stringify(record)});
       store.recordCheck('s1', 'create-service', true, 'ok', 3000);
       process.stdout.write('written\\n');
       setInterval(() => {}, 1000);`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', writer], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'], timeout: 20_000 });
    const exited = once(child, 'exit');
    let output = '';
    for await (const chunk of child.stdout) {
      output += String(chunk);
      if (output.includes('written\n')) break;
    }
    child.kill('SIGKILL');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    assert.equal(signal, 'SIGKILL', `the writer exited by itself (code ${code}) after printing ${JSON.stringify(output)}`);
    assert.ok(existsSync(`${file}-wal`), 'the write-ahead log the writer left behind');

    db = openDatabase(file);
    store = new SessionStore(db);
    assert.deepEqual(store.live(), [record]);
    assert.deepEqual(store.passedSteps('s1'), new Map([['create-service', 3000]]));
  });

  it('hashToken is the hex SHA-256 of the token', () => {
    assert.equal(SessionStore.hashToken('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('tokenMatches accepts only the token the session was created with', () => {
    const record = session('s1', 1000, { tokenHash: SessionStore.hashToken('right-token') });
    assert.equal(SessionStore.tokenMatches(record.tokenHash, 'right-token'), true);
    assert.equal(SessionStore.tokenMatches(record.tokenHash, 'wrong-token'), false);
    assert.equal(SessionStore.tokenMatches(record.tokenHash, ''), false);
    assert.equal(SessionStore.tokenMatches(record.tokenHash, undefined), false);
    assert.equal(SessionStore.tokenMatches('not-hex', 'right-token'), false);
  });
});

describe('SessionStore: hints revealed, and progress cleared and copied', () => {
  let memDb: Database.Database;
  let mem: SessionStore;
  beforeEach(() => {
    memDb = openDatabase(':memory:');
    mem = new SessionStore(memDb);
    mem.insert(session('s1', 1000));
    mem.insert(session('s2', 1000));
  });
  afterEach(() => {
    if (memDb.open) memDb.close();
  });

  /** When the latest hint of a step was revealed, as stored. */
  const revealedAt = (sessionId: string, stepId: string) =>
    memDb.prepare<[string, string], { at: number }>('SELECT at FROM hints_revealed WHERE session_id = ? AND step_id = ?').get(sessionId, stepId)?.at;

  it('reveals 1, then 2, then stays at max however often it is asked', () => {
    assert.equal(mem.revealHint('s1', 'goal', 2, 2000), 1);
    assert.equal(mem.revealHint('s1', 'goal', 2, 3000), 2);
    assert.equal(mem.revealHint('s1', 'goal', 2, 4000), 2);
    assert.equal(mem.revealHint('s1', 'goal', 2, 5000), 2);
    assert.deepEqual(mem.hintsRevealed('s1'), new Map([['goal', 2]]));
  });

  it('keeps the time of the latest reveal', () => {
    mem.revealHint('s1', 'goal', 3, 2000);
    assert.equal(revealedAt('s1', 'goal'), 2000);
    mem.revealHint('s1', 'goal', 3, 3000);
    assert.equal(revealedAt('s1', 'goal'), 3000);
  });

  it('a challenge with one hint stays at 1', () => {
    assert.equal(mem.revealHint('s1', 'goal', 1, 2000), 1);
    assert.equal(mem.revealHint('s1', 'goal', 1, 3000), 1);
  });

  it('counts each step and each session on its own', () => {
    mem.revealHint('s1', 'goal', 3, 2000);
    mem.revealHint('s1', 'goal', 3, 2100);
    mem.revealHint('s1', 'drain', 3, 2200);
    assert.equal(mem.revealHint('s2', 'goal', 3, 2300), 1, 'another session starts from 0');
    assert.equal(mem.revealHint('s1', 'drain', 3, 2400), 2, 'another step goes on from its own count');
    assert.deepEqual(
      mem.hintsRevealed('s1'),
      new Map([
        ['goal', 2],
        ['drain', 2],
      ]),
    );
    assert.deepEqual(mem.hintsRevealed('s2'), new Map([['goal', 1]]));
  });

  it('hintsRevealed is empty for a session with none revealed, and for an unknown one', () => {
    assert.deepEqual(mem.hintsRevealed('s1'), new Map());
    assert.deepEqual(mem.hintsRevealed('nobody'), new Map());
  });

  it('refuses to reveal a hint for a session it does not know, with a StoreError naming it', () => {
    assert.throws(
      () => mem.revealHint('ghost', 'goal', 2, 2000),
      (err: Error) => {
        assert.equal(err.name, 'StoreError', `${err.name}: ${err.message}`);
        assert.match(err.message, /ghost/);
        return true;
      },
    );
    assert.deepEqual(mem.hintsRevealed('ghost'), new Map());
  });

  it('clearProgress forgets the check results and the hints of that session only', () => {
    mem.recordCheck('s1', 'service', true, 'ok', 2000);
    mem.recordCheck('s1', 'goal', false, 'not yet', 2100);
    mem.revealHint('s1', 'goal', 2, 2200);
    mem.recordCheck('s2', 'service', true, 'ok', 2000);
    mem.revealHint('s2', 'goal', 2, 2200);

    mem.clearProgress('s1');

    assert.deepEqual(mem.passedSteps('s1'), new Map());
    assert.deepEqual(mem.hintsRevealed('s1'), new Map());
    assert.equal(
      memDb.prepare<[string], { n: number }>('SELECT count(*) AS n FROM check_results WHERE session_id = ?').get('s1')?.n,
      0,
      'failed checks go too',
    );
    assert.deepEqual(mem.passedSteps('s2'), new Map([['service', 2000]]));
    assert.deepEqual(mem.hintsRevealed('s2'), new Map([['goal', 1]]));
    assert.equal(mem.revealHint('s1', 'goal', 2, 3000), 1, 'hints start over after a reset');
  });

  it('copyProgress gives the new session the passed checks, with their times, and the hints; the old keeps its own', () => {
    mem.recordCheck('s1', 'service', false, 'no service', 1500);
    mem.recordCheck('s1', 'service', true, 'ok', 2000);
    mem.recordCheck('s1', 'goal', false, 'not yet', 2100);
    mem.revealHint('s1', 'goal', 3, 2200);
    mem.revealHint('s1', 'goal', 3, 2300);

    mem.copyProgress('s1', 's2');

    assert.deepEqual(mem.passedSteps('s2'), new Map([['service', 2000]]));
    assert.deepEqual(mem.hintsRevealed('s2'), new Map([['goal', 2]]));
    assert.equal(
      memDb.prepare<[string], { n: number }>('SELECT count(*) AS n FROM check_results WHERE session_id = ?').get('s2')?.n,
      1,
      'only the passed check is copied',
    );
    assert.deepEqual(mem.passedSteps('s1'), new Map([['service', 2000]]));
    assert.deepEqual(mem.hintsRevealed('s1'), new Map([['goal', 2]]));
    assert.equal(mem.revealHint('s2', 'goal', 3, 4000), 3, 'the new session goes on from the copied count');
    assert.equal(mem.revealHint('s1', 'goal', 3, 4000), 3, 'the old one from its own');
  });

  it('copyProgress from a session with nothing copies nothing', () => {
    mem.revealHint('s2', 'goal', 3, 2000);
    mem.copyProgress('s1', 's2');
    assert.deepEqual(mem.hintsRevealed('s2'), new Map([['goal', 1]]));
    assert.deepEqual(mem.passedSteps('s2'), new Map());
  });

  it('pruneEnded forgets the hints of the sessions it forgets', () => {
    mem.revealHint('s1', 'goal', 2, 2000);
    mem.end('s1', 'idle', 3000);
    assert.equal(mem.pruneEnded(5000), 1);
    assert.equal(memDb.prepare<[], { n: number }>('SELECT count(*) AS n FROM hints_revealed').get()?.n, 0);
  });

  it('keeps hints across closing and reopening the file database', () => {
    store.insert(session('s1', 1000));
    store.insert(session('s2', 1000));
    store.revealHint('s1', 'goal', 3, 2000);
    store.revealHint('s1', 'goal', 3, 2100);
    store.revealHint('s2', 'drain', 3, 2200);

    reopen();

    assert.deepEqual(store.hintsRevealed('s1'), new Map([['goal', 2]]));
    assert.deepEqual(store.hintsRevealed('s2'), new Map([['drain', 1]]));
    assert.equal(store.revealHint('s1', 'goal', 3, 3000), 3);
    assert.equal(store.revealHint('s1', 'goal', 3, 3100), 3);
  });

  it('counts from what is stored, not from what one connection saw: two connections to one file alternate 1, 2, 3', () => {
    store.insert(session('s1', 1000));
    const other = openDatabase(file);
    try {
      const second = new SessionStore(other);
      assert.equal(store.revealHint('s1', 'goal', 3, 2000), 1);
      assert.equal(second.revealHint('s1', 'goal', 3, 2100), 2);
      assert.equal(store.revealHint('s1', 'goal', 3, 2200), 3);
      assert.equal(second.revealHint('s1', 'goal', 3, 2300), 3);
    } finally {
      other.close();
    }
  });
});
