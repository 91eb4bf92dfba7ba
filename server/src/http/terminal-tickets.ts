import { randomBytes } from 'node:crypto';

/** Long enough for a page to open its socket; short enough that a leaked ticket is worthless. */
export const TICKET_LIFETIME_MS = 30_000;
/** Unredeemed tickets kept per session; older ones are dropped, so asking repeatedly grows nothing. */
const TICKETS_PER_SESSION = 8;

interface Ticket {
  readonly sessionId: string;
  readonly expires: number;
}

/**
 * One-use, short-lived tickets for opening a terminal WebSocket. A page asks for one with its
 * token (in a header) and puts only the ticket in the socket's URL, so the long-lived token never
 * appears in a URL that proxies log.
 */
export class TerminalTickets {
  private readonly tickets = new Map<string, Ticket>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly lifetimeMs = TICKET_LIFETIME_MS,
  ) {}

  issue(sessionId: string): string {
    this.prune();
    const mine = [...this.tickets].filter(([, t]) => t.sessionId === sessionId);
    for (const [value] of mine.slice(0, Math.max(0, mine.length - TICKETS_PER_SESSION + 1))) this.tickets.delete(value);
    const value = randomBytes(18).toString('base64url');
    this.tickets.set(value, { sessionId, expires: this.now() + this.lifetimeMs });
    return value;
  }

  /** The session the ticket was issued for, once: a second redeem, or a late one, gets undefined. */
  redeem(value: string): string | undefined {
    const ticket = this.tickets.get(value);
    if (!ticket) return undefined;
    this.tickets.delete(value);
    return ticket.expires > this.now() ? ticket.sessionId : undefined;
  }

  /** Drops every ticket of a session (it ended). */
  revoke(sessionId: string): void {
    for (const [value, t] of this.tickets) if (t.sessionId === sessionId) this.tickets.delete(value);
  }

  get size(): number {
    return this.tickets.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [value, t] of this.tickets) if (t.expires <= now) this.tickets.delete(value);
  }
}
