import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { encode, MAX_CLIENT_FRAME_BYTES, parseClientMessage, PROTOCOL_VERSION, type ClientMessage, type ServerMessage } from '../../../common/protocol.js';
import { wsText } from '../client/ws-text.js';
import { HttpError } from '../http-error.js';
import type { Logger } from '../logger.js';
import type { HostTerminal, Session } from '../sessions/session.js';
import { FlowControl } from '../terminal/flow-control.js';
import type { Disposable } from '../terminal/terminal-session.js';
import { hostAllowed, hostRefusal, originAllowed, type HostPolicy } from './host-guard.js';
import { bearerToken } from './request-parts.js';
import { SOCKET_HARD_LIMIT, SocketBackpressure } from './socket-backpressure.js';
import type { TerminalTickets } from './terminal-tickets.js';

const TERMINAL_PATH = /^\/api\/sessions\/([0-9a-z]{1,64})\/terminal$/;
const MIRROR_PATH = /^\/api\/workshops\/([0-9a-z]{1,64})\/learners\/([0-9a-z]{1,64})\/terminal$/;
/** Read-only mirrors of one session open at once (an instructor's tabs). */
const MAX_MIRRORS_PER_SESSION = 4;
const HELLO_TIMEOUT_MS = 10_000;
/** Frames above the protocol limit still reach us (and get an error reply) up to this size; beyond it ws closes the socket. */
const HARD_FRAME_LIMIT = 4 * MAX_CLIENT_FRAME_BYTES;
/**
 * Close codes: 1008 the session ended (do not retry), 1013 try again later and 1012 the session's
 * terminal is being replaced (a reset): the page retries both.
 */
const CLOSE_ENDED = 1008;
const CLOSE_RESTART = 1012;
const CLOSE_TRY_LATER = 1013;

export interface TerminalGatewayOptions {
  /** The session with this id; throws an HttpError (404, 410) when there is none. */
  readonly lookup: (id: string) => Session;
  readonly tickets: TerminalTickets;
  readonly hosts: HostPolicy;
  readonly maxPagesPerSession: number;
  readonly pingIntervalMs: number;
  /** Terminal history per session (code units): a reconnecting page's replay may be this large. */
  readonly replayCapacity: number;
  readonly log: Logger;
  /** The instructor's read-only mirrors of learners' terminals. */
  readonly mirrors?: {
    /** The learner's session in that workshop; throws an HttpError (404, 410) when there is none. */
    readonly lookup: (workshopId: string, sessionId: string) => Session;
    /** Whether `secret` is the instructor's. */
    readonly isInstructor: (secret: string | undefined) => boolean;
  };
}

/** Mirror tickets are issued for this key, so a learner's ticket never opens a mirror, nor the reverse. */
export function mirrorTicketKey(sessionId: string): string {
  return `mirror:${sessionId}`;
}

interface Liveness {
  alive: boolean;
}

/**
 * The WebSocket side of terminals: it checks Host, Origin and credentials before the upgrade,
 * decodes and validates frames, and routes them to the session's TerminalSession. It holds no
 * terminal state of its own, so several pages can attach to one shell and all see the same output.
 *
 * Nothing a client sends can throw out of here: every listener is guarded, and what cannot be
 * served is refused with a status (before the upgrade) or a close code and reason (after).
 */
export class TerminalGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: HARD_FRAME_LIMIT });
  private readonly pages = new Map<string, Set<WebSocket>>();
  private readonly mirrors = new Map<string, Set<WebSocket>>();
  private readonly liveness = new WeakMap<WebSocket, Liveness>();
  private readonly pingTimer: NodeJS.Timeout;

  constructor(private readonly options: TerminalGatewayOptions) {
    // A socket that missed the previous ping's pong is dead (a laptop that slept, a cut network):
    // drop it, so it stops holding the shell for the session's other pages.
    this.pingTimer = setInterval(() => {
      for (const ws of this.wss.clients) {
        const state = this.liveness.get(ws);
        if (!state) continue;
        if (!state.alive) {
          ws.terminate();
          continue;
        }
        state.alive = false;
        try {
          ws.ping();
        } catch {
          ws.terminate();
        }
      }
    }, options.pingIntervalMs);
    this.pingTimer.unref();
  }

  /** Claims the upgrade if it is for a terminal (refusing it with a status if need be); returns false otherwise. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    socket.on('error', () => socket.destroy());
    let path: string;
    let ticket: string | null;
    let host: string | null;
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      path = url.pathname;
      ticket = url.searchParams.get('ticket');
      host = url.searchParams.get('host');
    } catch {
      refuse(socket, 400, 'the request path is not a valid URL');
      return true;
    }
    const match = TERMINAL_PATH.exec(path);
    const mirror = MIRROR_PATH.exec(path);
    if (!match && !mirror) return false;
    const id = match ? match[1]! : mirror![2]!;
    try {
      const session = mirror ? this.authorizeMirror(req, mirror[1]!, id, ticket) : this.authorize(req, id, ticket);
      const terminal = terminalOf(session, host);
      this.wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws, session, terminal, mirror ? 'mirror' : 'learner'));
    } catch (e) {
      if (e instanceof HttpError) refuse(socket, e.status, e.message);
      else {
        this.options.log.error('terminal upgrade failed', { sessionId: id, error: (e as Error).message });
        refuse(socket, 500, 'the server failed to open this terminal');
      }
    }
    return true;
  }

  /**
   * Host and Origin as for every request; then either a one-use ticket from the page (browsers
   * always send Origin, and it must be allowed), or the session token in an Authorization header
   * (scripts). The token is never accepted in the URL.
   */
  private authorize(req: IncomingMessage, id: string, ticket: string | null): Session {
    const origin = this.checkHostAndOrigin(req);
    const bearer = bearerToken(req.headers.authorization);
    if (ticket !== null) {
      if (origin === undefined)
        throw new HttpError(403, 'a terminal ticket is for pages, which send an Origin header; scripts use Authorization: Bearer <token>');
      const session = this.options.lookup(id);
      if (this.options.tickets.redeem(ticket) !== id)
        throw new HttpError(403, `the ticket is not valid for session ${id}: it expired, was used already, or belongs to another session`);
      return session;
    }
    if (bearer === undefined)
      throw new HttpError(403, `session ${id}: open a terminal with a ticket (POST /api/sessions/${id}/terminal-tickets) or an Authorization: Bearer header`);
    const session = this.options.lookup(id);
    if (!session.hasToken(bearer)) throw new HttpError(403, `wrong token for session ${id}`);
    return session;
  }

  /** Refuses a Host or Origin that every request would be refused for; returns the Origin, if any. */
  private checkHostAndOrigin(req: IncomingMessage): string | undefined {
    const { hosts } = this.options;
    if (!hostAllowed(req.headers.host, hosts)) throw new HttpError(403, hostRefusal('Host', req.headers.host));
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, hosts)) throw new HttpError(403, hostRefusal('Origin', origin));
    return origin;
  }

  /** Host and Origin as for every request, then the instructor's secret or a mirror ticket. */
  private authorizeMirror(req: IncomingMessage, workshopId: string, sessionId: string, ticket: string | null): Session {
    const { mirrors } = this.options;
    if (!mirrors) throw new HttpError(404, 'this server has no workshops');
    const origin = this.checkHostAndOrigin(req);
    if (ticket !== null) {
      if (origin === undefined)
        throw new HttpError(403, 'a mirror ticket is for pages, which send an Origin header; scripts use Authorization: Bearer <instructor secret>');
      const session = mirrors.lookup(workshopId, sessionId);
      if (this.options.tickets.redeem(ticket) !== mirrorTicketKey(sessionId))
        throw new HttpError(403, `the ticket is not valid for a mirror of session ${sessionId}: it expired, was used already, or is for something else`);
      return session;
    }
    if (!mirrors.isInstructor(bearerToken(req.headers.authorization)))
      throw new HttpError(403, "a learner's terminal mirror needs the instructor's secret (Authorization: Bearer) or a mirror ticket");
    return mirrors.lookup(workshopId, sessionId);
  }

  close(): void {
    clearInterval(this.pingTimer);
    for (const ws of this.wss.clients) ws.close(1001, 'server shutting down');
    this.wss.close();
  }

  /** Open terminal sockets of a session, on all its hosts (for tests and the operator's view). */
  pageCount(sessionId: string): number {
    let count = 0;
    for (const [key, pages] of this.pages) if (key.startsWith(`${sessionId}/`)) count += pages.size;
    return count;
  }

  /**
   * Serves one page. A `mirror` (the instructor watching) sees the same output but never writes,
   * resizes, holds the shell for flow control or counts as the learner's activity.
   */
  private attach(ws: WebSocket, session: Session, shell: HostTerminal, role: 'learner' | 'mirror'): void {
    const { host, terminal } = shell;
    if (session.ended) {
      // A reset is replacing this session's containers: the page retries in a moment.
      ws.close(CLOSE_TRY_LATER, 'this session is being reset; try again in a moment');
      return;
    }
    const registry = role === 'mirror' ? this.mirrors : this.pages;
    const limit = role === 'mirror' ? MAX_MIRRORS_PER_SESSION : this.options.maxPagesPerSession;
    // Counted per terminal: a page with a tab per host opens one socket per tab.
    const key = `${session.id}/${host}`;
    const pages = registry.get(key) ?? new Set<WebSocket>();
    if (pages.size >= limit) {
      const what = role === 'mirror' ? 'mirrors' : 'terminal pages';
      ws.close(CLOSE_TRY_LATER, `this session already has ${limit} ${what} open on ${host}; close one and reload`);
      return;
    }
    pages.add(ws);
    registry.set(key, pages);
    const liveness: Liveness = { alive: true };
    this.liveness.set(ws, liveness);
    ws.on('pong', () => (liveness.alive = true));

    const holder = {};
    // A mirror that cannot keep up is closed at the hard bound; it never holds the learner's shell.
    const backpressure = new SocketBackpressure(
      () => {
        if (role === 'learner') terminal.hold(holder);
      },
      () => terminal.release(holder),
      undefined,
      undefined,
      // A reconnecting page's replay goes out as one frame; JSON may escape every code unit as \u00XX.
      Math.max(SOCKET_HARD_LIMIT, 6 * this.options.replayCapacity + SOCKET_HARD_LIMIT),
    );
    let flow: FlowControl | undefined;
    const subscriptions: Disposable[] = [];
    const send = (m: ServerMessage) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(encode(m), () => backpressure.flushed(ws.bufferedAmount));
      if (backpressure.sent(ws.bufferedAmount) === 'overflow') {
        this.options.log.warn('terminal page does not read its socket; closing it', { sessionId: session.id, buffered: ws.bufferedAmount });
        ws.close(CLOSE_TRY_LATER, 'this page stopped reading its terminal output');
        ws.terminate();
      }
    };
    const helloTimer = setTimeout(() => {
      send({ type: 'error', message: `no hello within ${HELLO_TIMEOUT_MS} ms` });
      ws.close(CLOSE_ENDED, 'no hello');
    }, HELLO_TIMEOUT_MS);

    const hello = (message: Extract<ClientMessage, { type: 'hello' }>) => {
      clearTimeout(helloTimer);
      if (role === 'learner') {
        terminal.ensureRunning();
        if (message.cols !== undefined && message.rows !== undefined) terminal.resize(message.cols, message.rows);
      }
      // Offsets of another terminal (before a server restart) mean nothing here: send it all.
      const resumeFrom = message.terminal === undefined || message.terminal === terminal.id ? (message.resumeFrom ?? 0) : 0;
      const replay = terminal.replay(resumeFrom);
      send({ type: 'ready', version: PROTOCOL_VERSION, terminal: terminal.id, offset: replay.offset });
      if (replay.gap) send({ type: 'gap', from: replay.gap.from, to: replay.gap.to });
      const flowControl = new FlowControl(
        replay.offset,
        () => {
          if (role === 'learner') terminal.hold(flowControl);
        },
        () => terminal.release(flowControl),
      );
      flow = flowControl;
      if (replay.data) {
        send({ type: 'output', offset: replay.offset, data: replay.data });
        flowControl.sentUpTo(replay.offset + replay.data.length);
      }
      // Subscribe in the same tick as the replay: no output can fall between the two.
      subscriptions.push(
        terminal.onOutput((offset, data) => {
          send({ type: 'output', offset, data });
          flowControl.sentUpTo(offset + data.length);
        }),
        terminal.onExit((exitCode) => send({ type: 'exit', exitCode, message: 'the shell exited; the next input starts a new one' })),
        // The page learns at once that its session is gone (or is being reset: then it reconnects),
        // rather than sitting on a silent socket.
        terminal.onDispose((reconnect) => (reconnect ? ws.close(CLOSE_RESTART, reconnect) : ws.close(CLOSE_ENDED, 'the session has ended'))),
      );
      if (role === 'learner') subscriptions.push(session.onNotice((notice) => send(notice)));
    };

    const onMessage = (raw: RawData, isBinary: boolean) => {
      if (isBinary) return send({ type: 'error', message: 'binary frames are not part of this protocol; send JSON text frames' });
      const parsed = parseClientMessage(wsText(raw));
      if (!parsed.ok) return send({ type: 'error', message: parsed.error });
      const message = parsed.message;
      if (message.type === 'hello') {
        if (flow) return send({ type: 'error', message: 'hello was already received on this connection' });
        return hello(message);
      }
      if (!flow) return send({ type: 'error', message: `${message.type} before hello; the first message must be hello` });
      if (message.type === 'ack') return flow.ack(message.offset);
      if (role === 'mirror')
        return send({ type: 'error', message: `this is a read-only mirror of session ${session.id}: ${message.type} is not sent to the shell` });
      session.touch();
      if (message.type === 'input') terminal.write(message.data);
      else terminal.resize(message.cols, message.rows);
    };

    ws.on('message', (raw: RawData, isBinary: boolean) => {
      try {
        onMessage(raw, isBinary);
      } catch (e) {
        // A bug, not the page's fault; this page hears of it, the rest of the server carries on.
        this.options.log.error('terminal frame failed', { sessionId: session.id, error: (e as Error).message, stack: (e as Error).stack });
        send({ type: 'error', message: 'the server failed to handle that frame' });
      }
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      for (const s of subscriptions) s.dispose();
      flow?.release();
      backpressure.dispose();
      pages.delete(ws);
      if (pages.size === 0 && registry.get(key) === pages) registry.delete(key);
    });
    ws.on('error', (e) => this.options.log.warn('terminal socket error', { sessionId: session.id, error: e.message }));
  }
}

/** The terminal of `host` (the lab's first terminal when none is named), or a 404 naming those there are. */
function terminalOf(session: Session, host: string | null): HostTerminal {
  const terminal = session.terminalFor(host ?? undefined);
  if (!terminal) throw new HttpError(404, `session ${session.id} has no terminal on ${JSON.stringify(host)}; terminals: ${session.terminalHosts.join(', ')}`);
  return terminal;
}

function refuse(socket: Duplex, status: number, message: string): void {
  const reason = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 410: 'Gone', 503: 'Service Unavailable' }[status] ?? 'Error';
  if (socket.writable)
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`,
    );
  else socket.destroy();
}
