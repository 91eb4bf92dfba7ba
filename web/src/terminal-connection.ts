import { encode, parseServerMessage, PROTOCOL_VERSION, type ClientMessage, type NoticeMessage } from '../../common/protocol.js';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'gone';

export interface TerminalConnectionHandlers {
  /**
   * Output to draw, exactly once and in order, whatever reconnects happened. Call `drawn` once it
   * is on the screen: that acknowledgement is what lets the server keep the shell running.
   */
  output(data: string, drawn: () => void): void;
  /** Output between the page's screen and the server's buffer was lost: clear and redraw. */
  gap(lostChars: number): void;
  /**
   * This is a new shell: clear the screen. `reset` when the server replaced the session's
   * terminal (it closed the last socket with 1012: the instructor reset the environment, new
   * containers); `restart` when the server restarted (the containers are the same).
   */
  newTerminal(reason: 'reset' | 'restart'): void;
  state(state: ConnectionState, detail?: string): void;
  /** Something the learner must know that is not output: an idle warning, the workshop ending, a reset, a removal. */
  notice(message: NoticeMessage): void;
}

/** Why a socket could not be opened: `gone` when retrying cannot help (the session ended). */
export class OpenError extends Error {
  constructor(
    message: string,
    readonly gone: boolean,
  ) {
    super(message);
  }
}

const MAX_BACKOFF_MS = 10_000;
/**
 * Close codes of the server: 1008 the session ended; 1012 its terminal is being replaced (a reset)
 * and 1013 try again later, after both of which the page reconnects.
 */
const CLOSE_ENDED = 1008;
const CLOSE_RESTART = 1012;

/**
 * The page's end of the terminal protocol. It tracks the offset of the output it has drawn, so a
 * reconnect (network blip, laptop sleep) resumes exactly where it stopped, and it reconnects by
 * itself with exponential backoff until the server says the session is gone. Each connection
 * starts from `open()`, which gets a fresh one-use ticket: the session token never goes in a URL.
 */
export class TerminalConnection {
  private ws: WebSocket | undefined;
  private received = 0;
  private terminal: string | undefined;
  private attempt = 0;
  private closedByUs = false;
  private size: { cols: number; rows: number } = { cols: 100, rows: 30 };
  private drawnUpTo = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  /** The last socket was closed with 1012: the terminal that follows replaces the old one. */
  private replaced = false;

  constructor(
    private readonly open: () => Promise<string>,
    private readonly handlers: TerminalConnectionHandlers,
  ) {
    void this.connect();
  }

  send(data: string): void {
    this.post({ type: 'input', data });
  }

  resize(cols: number, rows: number): void {
    this.size = { cols, rows };
    this.post({ type: 'resize', cols, rows });
  }

  close(): void {
    this.closedByUs = true;
    this.ws?.close();
  }

  private post(message: ClientMessage): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(encode(message));
  }

  private async connect(): Promise<void> {
    this.handlers.state(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let url: string;
    try {
      url = await this.open();
    } catch (e) {
      if (e instanceof OpenError && e.gone) return this.handlers.state('gone', e.message);
      return this.retry();
    }
    if (this.closedByUs) return;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      ws.send(
        encode({
          type: 'hello',
          version: PROTOCOL_VERSION,
          resumeFrom: this.received,
          ...(this.terminal ? { terminal: this.terminal } : {}),
          ...this.size,
        }),
      );
    };
    ws.onmessage = (event) => {
      const parsed = parseServerMessage(String(event.data));
      if (!parsed.ok) return console.warn(`terminal: ignoring a bad frame from the server: ${parsed.error}`);
      const m = parsed.message;
      switch (m.type) {
        case 'ready':
          if (this.terminal !== undefined && m.terminal !== this.terminal) {
            // A restarted server: its offsets start afresh, so the old ones must not skip output.
            this.handlers.newTerminal(this.replaced ? 'reset' : 'restart');
            this.drawnUpTo = 0;
          }
          this.replaced = false;
          this.terminal = m.terminal;
          this.received = m.offset;
          this.attempt = 0;
          this.handlers.state('connected');
          break;
        case 'gap':
          this.handlers.gap(m.to - m.from);
          this.received = m.to;
          break;
        case 'output': {
          // Skip what was already drawn: replayed output may overlap what arrived before a drop.
          const skip = this.received - m.offset;
          if (skip >= m.data.length) break;
          const end = m.offset + m.data.length;
          this.handlers.output(skip > 0 ? m.data.slice(skip) : m.data, () => this.drawn(end));
          this.received = end;
          break;
        }
        case 'exit':
          break;
        case 'error':
          console.warn(`terminal: server says: ${m.message}`);
          break;
        case 'notice':
          this.handlers.notice(m);
          break;
      }
    };
    ws.onclose = (event) => {
      if (this.closedByUs) return;
      if (event.code === CLOSE_ENDED) return this.handlers.state('gone', event.reason || 'the session has ended');
      // A reset's new terminal is ready in moments: start the backoff from its shortest delay.
      if (event.code === CLOSE_RESTART) {
        this.attempt = 0;
        this.replaced = true;
      }
      this.retry(event.reason);
    };
  }

  /** Acks are coalesced: one message per burst of drawn chunks, not one per chunk. */
  private drawn(end: number): void {
    this.drawnUpTo = Math.max(this.drawnUpTo, end);
    this.ackTimer ??= setTimeout(() => {
      this.ackTimer = undefined;
      this.post({ type: 'ack', offset: this.drawnUpTo });
    }, 20);
  }

  private retry(reason?: string): void {
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** this.attempt);
    this.attempt++;
    this.handlers.state('reconnecting', `${reason ? `${reason}; ` : ''}retrying in ${Math.round(delay / 100) / 10} s`);
    setTimeout(() => void this.connect(), delay);
  }
}
