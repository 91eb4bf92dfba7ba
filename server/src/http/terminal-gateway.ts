import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { wsText } from '../client/ws-text.js';
import { encode, MAX_CLIENT_FRAME_BYTES, parseClientMessage, PROTOCOL_VERSION, type ServerMessage } from '../../../common/protocol.js';
import type { Logger } from '../logger.js';
import type { Session } from '../sessions/session.js';
import { FlowControl } from '../terminal/flow-control.js';
import type { Disposable } from '../terminal/terminal-session.js';
import { HttpError } from './http-error.js';

const TERMINAL_PATH = /^\/api\/sessions\/([^/]+)\/terminal$/;
const HELLO_TIMEOUT_MS = 10_000;
/** Frames above the protocol limit still reach us (and get an error reply) up to this size; beyond it ws closes the socket. */
const HARD_FRAME_LIMIT = 4 * MAX_CLIENT_FRAME_BYTES;

/**
 * The WebSocket side of terminals: it authenticates the upgrade, decodes and validates frames,
 * and routes them to the session's TerminalSession. It holds no terminal state of its own, so
 * any number of pages can attach to one shell; all of them see the same output (mirroring).
 */
export class TerminalGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: HARD_FRAME_LIMIT });

  constructor(
    private readonly findSession: (id: string, token: string | undefined) => Session,
    private readonly log: Logger,
  ) {}

  /** Claims the upgrade if it is for a terminal; returns false to let others handle it. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = TERMINAL_PATH.exec(url.pathname);
    if (!match) return false;
    let session: Session;
    try {
      // Authenticate before upgrading: a refused client never gets a WebSocket at all.
      session = this.findSession(decodeURIComponent(match[1] ?? ''), url.searchParams.get('token') ?? undefined);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      const body = (e as Error).message;
      socket.end(
        `HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : status === 403 ? 'Forbidden' : 'Error'}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return true;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws, session));
    return true;
  }

  close(): void {
    for (const ws of this.wss.clients) ws.close(1001, 'server shutting down');
    this.wss.close();
  }

  private attach(ws: WebSocket, session: Session): void {
    const send = (m: ServerMessage) => {
      if (ws.readyState === ws.OPEN) ws.send(encode(m));
    };
    let subscription: Disposable | undefined;
    let exitSubscription: Disposable | undefined;
    let disposeSubscription: Disposable | undefined;
    let flow: FlowControl | undefined;
    const holder = {};
    const helloTimer = setTimeout(() => {
      send({ type: 'error', message: `no hello within ${HELLO_TIMEOUT_MS} ms` });
      ws.close(1008, 'no hello');
    }, HELLO_TIMEOUT_MS);

    ws.on('message', (raw: RawData, isBinary: boolean) => {
      if (isBinary) return send({ type: 'error', message: 'binary frames are not part of this protocol; send JSON text frames' });
      const parsed = parseClientMessage(wsText(raw));
      if (!parsed.ok) return send({ type: 'error', message: parsed.error });
      const message = parsed.message;
      if (message.type === 'hello') {
        if (subscription) return send({ type: 'error', message: 'hello was already received on this connection' });
        clearTimeout(helloTimer);
        const terminal = session.terminal;
        if (message.cols !== undefined && message.rows !== undefined) terminal.resize(message.cols, message.rows);
        const replay = terminal.replay(message.resumeFrom ?? 0);
        send({ type: 'ready', version: PROTOCOL_VERSION, offset: replay.offset });
        if (replay.gap) send({ type: 'gap', from: replay.gap.from, to: replay.gap.to });
        const flowControl = new FlowControl(
          replay.offset,
          () => terminal.hold(holder),
          () => terminal.release(holder),
        );
        flow = flowControl;
        if (replay.data) {
          send({ type: 'output', offset: replay.offset, data: replay.data });
          flowControl.sentUpTo(replay.offset + replay.data.length);
        }
        // Subscribe in the same tick as the replay: no output can fall between the two.
        subscription = terminal.onOutput((offset, data) => {
          send({ type: 'output', offset, data });
          flowControl.sentUpTo(offset + data.length);
        });
        exitSubscription = terminal.onExit((exitCode) => send({ type: 'exit', exitCode, message: 'the shell exited; the next input starts a new one' }));
        // The page learns at once that its session is gone, rather than sitting on a silent socket.
        disposeSubscription = terminal.onDispose(() => ws.close(1008, 'the session has ended'));
        return;
      }
      if (!subscription) return send({ type: 'error', message: `${message.type} before hello; the first message must be hello` });
      if (message.type === 'ack') return flow?.ack(message.offset);
      session.touch();
      if (message.type === 'input') session.terminal.write(message.data);
      else session.terminal.resize(message.cols, message.rows);
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      subscription?.dispose();
      exitSubscription?.dispose();
      disposeSubscription?.dispose();
      flow?.release();
    });
    ws.on('error', (e) => this.log.warn('terminal socket error', { sessionId: session.id, error: e.message }));
  }
}
