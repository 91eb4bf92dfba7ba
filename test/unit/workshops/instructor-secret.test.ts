import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openDatabase } from '../../../server/src/store/database.js';
import { WorkshopStore } from '../../../server/src/store/workshop-store.js';
import { InstructorSecret } from '../../../server/src/workshops/instructor-secret.js';

describe('InstructorSecret', () => {
  it('generates a secret at the first start, stores only its hash, and keeps it for the next start', () => {
    const db = openDatabase(':memory:');
    const store = new WorkshopStore(db);
    const first = InstructorSecret.resolve('', store);
    assert.ok(first.generated && first.generated.length >= 20, 'a generated secret is returned to be shown once');
    assert.ok(first.secret.matches(first.generated));
    const stored = db.prepare<[], { value: string }>('SELECT value FROM settings').all();
    assert.equal(stored.length, 1);
    assert.match(stored[0]!.value, /^[0-9a-f]{64}$/);
    assert.ok(!stored[0]!.value.includes(first.generated), 'the secret itself is not stored');
    const again = InstructorSecret.resolve('', store);
    assert.equal(again.generated, undefined, 'the next start shows nothing');
    assert.ok(again.secret.matches(first.generated));
    assert.ok(!again.secret.matches(`${first.generated}x`));
    assert.ok(!again.secret.matches(undefined));
    db.close();
  });

  it('uses IPVS_LAB_INSTRUCTOR_TOKEN when set, and then the stored one opens nothing', () => {
    const db = openDatabase(':memory:');
    const store = new WorkshopStore(db);
    const generated = InstructorSecret.resolve('', store).generated!;
    const configured = InstructorSecret.resolve('a-chosen-secret-of-the-operator', store);
    assert.equal(configured.generated, undefined);
    assert.ok(configured.secret.matches('a-chosen-secret-of-the-operator'));
    assert.ok(!configured.secret.matches(generated));
    db.close();
  });
});
