import { encode, parseServerMessage, PROTOCOL_VERSION, type ClientMessage } from '../../common/protocol.js';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'gone';

export interface TerminalConnectionHandlers {
  /**
   * Output to draw, exactly once and in order, whatever reconnects happened. Call `drawn` once it
   * is on the screen: that acknowledgement is what lets the server keep the shell running.
   */
  output(data: string, drawn: () => void): void;
  /** Output between the page's screen and the server's buffer was lost: clear and redraw. */
  gap(lostChars: number): void;
  state(state: ConnectionState, detail?: string): void;
}

const MAX_BACKOFF_MS = 10_000;

/**
 * The page's end of the terminal protocol. It tracks the offset of the output it has drawn, so a
 * reconnect (network blip, laptop sleep) resumes exactly where it stopped, and it reconnects by
 * itself with exponential backoff until the server says the session is gone.
 */
export class TerminalConnection {
  private ws: WebSocket | undefined;
  private received = 0;
  private attempt = 0;
  private closedByUs = false;
  private size: { cols: number; rows: number } = { cols: 100, rows: 30 };
  private drawnUpTo = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly url: string,
    private readonly handlers: TerminalConnectionHandlers,
  ) {
    this.connect();
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

  private connect(): void {
    this.handlers.state(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      ws.send(encode({ type: 'hello', version: PROTOCOL_VERSION, resumeFrom: this.received, ...this.size }));
    };
    ws.onmessage = (event) => {
      const parsed = parseServerMessage(String(event.data));
      if (!parsed.ok) return console.warn(`terminal: ignoring a bad frame from the server: ${parsed.error}`);
      const m = parsed.message;
      switch (m.type) {
        case 'ready':
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
      }
    };
    ws.onclose = (event) => {
      if (this.closedByUs) return;
      // The upgrade was refused (404/403): the session is gone; retrying cannot help.
      if (!opened && this.attempt >= 2) {
        void fetch(location.pathname + location.search, { method: 'HEAD' }).then(
          (r) => {
            if (r.status === 404 || r.status === 403) this.handlers.state('gone', 'this session has ended');
            else this.retry();
          },
          () => this.retry(),
        );
        return;
      }
      if (event.code === 1008) return this.handlers.state('gone', event.reason);
      this.retry();
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

  private retry(): void {
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** this.attempt);
    this.attempt++;
    this.handlers.state('reconnecting', `retrying in ${Math.round(delay / 100) / 10} s`);
    setTimeout(() => this.connect(), delay);
  }
}
