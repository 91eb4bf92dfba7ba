import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { TerminalTickets, TICKET_LIFETIME_MS } from '../../../server/src/http/terminal-tickets.js';

function withClock(lifetimeMs?: number) {
  const clock = { now: 1_000_000 };
  const tickets = new TerminalTickets(() => clock.now, lifetimeMs);
  return { clock, tickets };
}

describe('TerminalTickets', () => {
  it('lives for 30 seconds by default', () => {
    assert.equal(TICKET_LIFETIME_MS, 30_000);
  });

  it('redeems a ticket once, for the session it was issued for', () => {
    const { tickets } = withClock();
    const a = tickets.issue('session-a');
    const b = tickets.issue('session-b');
    assert.equal(tickets.redeem(b), 'session-b');
    assert.equal(tickets.redeem(a), 'session-a');
    assert.equal(tickets.redeem(a), undefined, 'a second redeem');
    assert.equal(tickets.redeem(b), undefined);
    assert.equal(tickets.size, 0);
  });

  it('refuses a ticket it never issued', () => {
    const { tickets } = withClock();
    tickets.issue('s1');
    assert.equal(tickets.redeem(''), undefined);
    assert.equal(tickets.redeem('not-a-ticket'), undefined);
    assert.equal(tickets.size, 1);
  });

  for (const lifetimeMs of [undefined, 1000]) {
    const lifetime = lifetimeMs ?? TICKET_LIFETIME_MS;
    it(`refuses a ticket at exactly its expiry (${lifetime} ms) and after it, and forgets it`, () => {
      const { clock, tickets } = withClock(lifetimeMs);
      const onTime = tickets.issue('s1');
      const atExpiry = tickets.issue('s1');
      const afterExpiry = tickets.issue('s1');
      clock.now += lifetime - 1;
      assert.equal(tickets.redeem(onTime), 's1');
      clock.now += 1;
      assert.equal(tickets.redeem(atExpiry), undefined);
      clock.now += 1;
      assert.equal(tickets.redeem(afterExpiry), undefined);
      assert.equal(tickets.size, 0);
    });
  }

  it('revokes the tickets of one session only', () => {
    const { tickets } = withClock();
    const ended = [tickets.issue('ended'), tickets.issue('ended')];
    const other = tickets.issue('other');
    tickets.revoke('ended');
    assert.equal(tickets.size, 1);
    for (const ticket of ended) assert.equal(tickets.redeem(ticket), undefined);
    assert.equal(tickets.redeem(other), 'other');
    tickets.revoke('never-issued');
  });

  it('keeps at most 8 live tickets per session, dropping the oldest', () => {
    const { tickets } = withClock();
    const other = tickets.issue('other');
    const issued = Array.from({ length: 20 }, () => tickets.issue('greedy'));
    assert.equal(tickets.size, 9);
    const redeemed = issued.map((ticket) => tickets.redeem(ticket));
    assert.deepEqual(redeemed, [...Array<undefined>(12).fill(undefined), ...Array<string>(8).fill('greedy')]);
    assert.equal(tickets.redeem(other), 'other', "another session's ticket is not dropped");
  });

  it('prunes expired tickets of every session when it issues one', () => {
    const { clock, tickets } = withClock(1000);
    tickets.issue('a');
    tickets.issue('b');
    clock.now += 500;
    const fresh = tickets.issue('b');
    assert.equal(tickets.size, 3);
    clock.now += 500; // the first two expire now
    const newest = tickets.issue('c');
    assert.equal(tickets.size, 2);
    assert.equal(tickets.redeem(fresh), 'b');
    assert.equal(tickets.redeem(newest), 'c');
  });

  it('issues distinct, unguessable-looking base64url tickets', () => {
    const { tickets } = withClock();
    const issued = Array.from({ length: 200 }, (_, i) => tickets.issue(`s${i}`));
    for (const ticket of issued) assert.match(ticket, /^[A-Za-z0-9_-]{24}$/);
    assert.equal(new Set(issued).size, issued.length);
  });
});
