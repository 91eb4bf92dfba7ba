import WebSocket from 'ws';
import { wsText } from './ws-text.js';
import { encode, parseServerMessage, PROTOCOL_VERSION, type ServerMessage } from '../../../common/protocol.js';

/**
 * A headless terminal client speaking the real protocol over a real WebSocket: what the page does,
 * minus the drawing. It keeps every output byte and can wait for text to appear.
 */
export class TerminalClient {
  output = '';
  /** Offset one past the last output received. */
  received = 0;
  readonly messages: ServerMessage[] = [];
  private waiters: (() => void)[] = [];
  /** Acknowledged up to here; see `ackEvery`. */
  acked = 0;
  /**
   * Acknowledge output as soon as this many code units are unacknowledged (a fast reader). Set to
   * Infinity and call ack() yourself to act as a slow page.
   */
  ackEvery = 64 * 1024;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const parsed = parseServerMessage(wsText(raw));
      // A bad frame is kept as an error message rather than thrown: a throw here would crash the process.
      // Output frames are kept only with keepOutput: a benchmark streaming 200 MB must not hold it all.
      if (!parsed.ok || parsed.message.type !== 'output' || this.keepOutput)
        this.messages.push(parsed.ok ? parsed.message : { type: 'error', message: `bad frame from server: ${parsed.error}` });
      if (!parsed.ok) return;
      if (parsed.message.type === 'ready') {
        // Output starts here: nothing before it is owed, so neither counter may lag behind it.
        this.received = Math.max(this.received, parsed.message.offset);
        this.acked = Math.max(this.acked, parsed.message.offset);
      }
      if (parsed.message.type === 'output') {
        const m = parsed.message;
        const skip = this.received - m.offset;
        if (skip < m.data.length) {
          if (this.keepOutput) this.output += skip > 0 ? m.data.slice(skip) : m.data;
          this.received = m.offset + m.data.length;
          this.bytesReceived += m.data.length - Math.max(0, skip);
        }
        if (this.received - this.acked >= this.ackEvery) this.ack(this.received);
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /**
   * Opens the socket; resolves with the client or rejects with the HTTP status (and body) of a
   * refused upgrade. `hello: null` opens without saying hello.
   */
  static connect(target: TerminalTarget, hello: { resumeFrom?: number; cols?: number; rows?: number; terminal?: string } | null = {}): Promise<TerminalClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(target.url, { headers: { ...target.headers } });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => reject(new Error(`upgrade refused: ${res.statusCode} ${body}`)));
        res.on('error', () => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      });
      ws.once('error', reject);
      ws.once('open', () => {
        const client = new TerminalClient(ws);
        if (hello) ws.send(encode({ type: 'hello', version: PROTOCOL_VERSION, ...hello }));
        resolve(client);
      });
    });
  }

  /** Whether to keep all output in `output` (tests); benchmarks that stream megabytes turn it off. */
  keepOutput = true;
  /** Code units of output received, kept or not. */
  bytesReceived = 0;

  ack(offset: number): void {
    if (offset <= this.acked) return;
    this.acked = offset;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(encode({ type: 'ack', offset }));
  }

  send(data: string): void {
    this.ws.send(encode({ type: 'input', data }));
  }

  sendRaw(frame: string | Buffer): void {
    this.ws.send(frame);
  }

  /** Waits until `pattern` matches the output received since `from` (an index into `output`). */
  async waitFor(pattern: RegExp, timeoutMs = 30_000, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.slice(from).match(pattern);
      if (m) return m;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`terminal output did not match ${pattern} within ${timeoutMs} ms; last output: ${JSON.stringify(this.output.slice(-400))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Per message type, how many messages of it nextMessage has already handed out. */
  private readonly consumed = new Map<string, number>();

  /**
   * The next message of a type not yet returned by an earlier call, waiting for it if needed:
   * each call consumes one, whether it arrived before the call or after.
   */
  async nextMessage<T extends ServerMessage['type']>(type: T, timeoutMs = 10_000): Promise<Extract<ServerMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ofType = this.messages.filter((m) => m.type === type);
      const index = this.consumed.get(type) ?? 0;
      if (ofType.length > index) {
        this.consumed.set(type, index + 1);
        return ofType[index] as Extract<ServerMessage, { type: T }>;
      }
      if (Date.now() > deadline)
        throw new Error(`no further ${type} message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(-5)).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** Where a terminal socket goes and the headers it needs. */
export interface TerminalTarget {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * A script's way into a session's terminal (the main one, or the one in `host`): the session
 * token in an Authorization header, never in the URL.
 */
export function terminalUrl(baseUrl: string, id: string, token: string, host?: string): TerminalTarget {
  const query = host === undefined ? '' : `?host=${encodeURIComponent(host)}`;
  return { url: `${baseUrl.replace(/^http/, 'ws')}/api/sessions/${id}/terminal${query}`, headers: { Authorization: `Bearer ${token}` } };
}
