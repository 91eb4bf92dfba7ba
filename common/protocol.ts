/**
 * The terminal WebSocket protocol, shared by the server and the page. Nothing here touches the DOM
 * or Node, so both sides import this one file; no message type is ever spelled twice.
 *
 * Every frame is a JSON text frame holding one message. The page's first message is `hello`;
 * the server answers `ready` (or `error` and closes).
 *
 * Output is addressed by offset: the number of UTF-16 code units the shell has printed before this
 * chunk since the terminal started. A page that reconnects says how far it got (`resumeFrom`) and
 * the server sends exactly what follows, from its bounded replay buffer. Offsets belong to one
 * terminal, named by `ready.terminal`; a server restart makes a new terminal, and a page that
 * resumes with another terminal's offsets gets the new one's output from its start.
 *
 * Version 2 added the terminal ids; version 3 the `notice` frames (idle and workshop warnings,
 * an environment reset by the instructor) and read-only mirrors, which get `error` for input.
 */

export const PROTOCOL_VERSION = 3;

/** Frames larger than this are refused: no legitimate keystroke or paste comes close. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;

/** Terminal sizes outside these bounds are clamped; they keep a bad page from asking for absurd buffers. */
export const TERMINAL_LIMITS = { minCols: 2, maxCols: 500, minRows: 1, maxRows: 200 } as const;

// ---- page → server -------------------------------------------------------------------------------

export interface HelloMessage {
  readonly type: 'hello';
  readonly version: number;
  /** Offset of the first output the page has NOT seen yet; omit for "send everything you still have". */
  readonly resumeFrom?: number;
  /** The terminal `resumeFrom` belongs to (from an earlier `ready`); another terminal ignores the offset. */
  readonly terminal?: string;
  readonly cols?: number;
  readonly rows?: number;
}
export interface InputMessage {
  readonly type: 'input';
  readonly data: string;
}
export interface ResizeMessage {
  readonly type: 'resize';
  readonly cols: number;
  readonly rows: number;
}
/**
 * How far the page has drawn: the offset one past the last output it has finished writing to the
 * screen. The server pauses the shell while too much output is sent but not yet acknowledged.
 */
export interface AckMessage {
  readonly type: 'ack';
  readonly offset: number;
}
export type ClientMessage = HelloMessage | InputMessage | ResizeMessage | AckMessage;

// ---- server → page -------------------------------------------------------------------------------

export interface ReadyMessage {
  readonly type: 'ready';
  readonly version: number;
  /** Which terminal the offsets belong to. */
  readonly terminal: string;
  /** Offset of the first `output` that follows. */
  readonly offset: number;
}
export interface OutputMessage {
  readonly type: 'output';
  readonly offset: number;
  readonly data: string;
}
/** Output was lost between what the page had and what the server still keeps; the page should reset its screen. */
export interface GapMessage {
  readonly type: 'gap';
  readonly from: number;
  readonly to: number;
}
export interface ExitMessage {
  readonly type: 'exit';
  readonly exitCode: number;
  readonly message: string;
}
export interface ErrorMessage {
  readonly type: 'error';
  readonly message: string;
}
export const NOTICE_KINDS = ['idle-warning', 'workshop-ending', 'reset', 'removed', 'workshop-ended'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];
/**
 * Something the learner must know that is not terminal output: their session will be removed for
 * inactivity at `at`, the workshop ends at `at`, the instructor reset or removed their environment.
 */
export interface NoticeMessage {
  readonly type: 'notice';
  readonly kind: NoticeKind;
  readonly message: string;
  /** When what the notice announces happens (ms since the epoch), for a countdown. */
  readonly at?: number;
}
export type ServerMessage = ReadyMessage | OutputMessage | GapMessage | ExitMessage | ErrorMessage | NoticeMessage;

// ---- validation ----------------------------------------------------------------------------------

export type ParseResult<T> = { readonly ok: true; readonly message: T } | { readonly ok: false; readonly error: string };

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Validates one inbound frame. Never throws: anything a hostile or buggy page can send becomes an
 * `{ ok: false, error }` naming what was wrong.
 */
export function parseClientMessage(raw: string): ParseResult<ClientMessage> {
  // A UTF-16 code unit is at most 3 bytes of UTF-8: count bytes only when it could matter.
  const bytes = raw.length * 3 <= MAX_CLIENT_FRAME_BYTES ? raw.length : new TextEncoder().encode(raw).length;
  if (bytes > MAX_CLIENT_FRAME_BYTES) return fail(`frame of ${bytes} bytes exceeds the limit of ${MAX_CLIENT_FRAME_BYTES}`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return fail(`frame is not JSON: ${JSON.stringify(raw.slice(0, 40))}`);
  }
  if (!isRecord(value)) return fail('frame is not a JSON object');
  switch (value.type) {
    case 'hello': {
      if (value.version !== PROTOCOL_VERSION)
        return fail(`protocol version ${JSON.stringify(value.version)} is not supported; this server speaks ${PROTOCOL_VERSION}`);
      const resumeFrom = value.resumeFrom;
      if (resumeFrom !== undefined && !(Number.isSafeInteger(resumeFrom) && (resumeFrom as number) >= 0))
        return fail(`hello.resumeFrom must be a non-negative integer, got ${JSON.stringify(resumeFrom)}`);
      if ((value.cols !== undefined && !isSize(value.cols)) || (value.rows !== undefined && !isSize(value.rows)))
        return fail('hello.cols and hello.rows must be numbers');
      if (value.terminal !== undefined && !(typeof value.terminal === 'string' && /^[0-9a-f]{1,64}$/.test(value.terminal)))
        return fail(`hello.terminal must be a terminal id from an earlier ready, got ${JSON.stringify(value.terminal).slice(0, 80)}`);
      return {
        ok: true,
        message: {
          type: 'hello',
          version: PROTOCOL_VERSION,
          ...(resumeFrom === undefined ? {} : { resumeFrom: resumeFrom as number }),
          ...(value.terminal === undefined ? {} : { terminal: value.terminal }),
          ...(value.cols === undefined ? {} : { cols: value.cols }),
          ...(value.rows === undefined ? {} : { rows: value.rows }),
        },
      };
    }
    case 'input':
      if (typeof value.data !== 'string') return fail('input.data must be a string');
      return { ok: true, message: { type: 'input', data: value.data } };
    case 'ack':
      if (!(Number.isSafeInteger(value.offset) && (value.offset as number) >= 0))
        return fail(`ack.offset must be a non-negative integer, got ${JSON.stringify(value.offset)}`);
      return { ok: true, message: { type: 'ack', offset: value.offset as number } };
    case 'resize':
      if (!isSize(value.cols) || !isSize(value.rows))
        return fail(`resize needs numeric cols and rows, got ${JSON.stringify(value.cols)} x ${JSON.stringify(value.rows)}`);
      return { ok: true, message: { type: 'resize', cols: value.cols, rows: value.rows } };
    default:
      return fail(`unknown message type ${JSON.stringify(value.type)}`);
  }
}

/** Validates a frame from the server; the page uses it so a mismatched server fails loudly, not oddly. */
export function parseServerMessage(raw: string): ParseResult<ServerMessage> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return fail('frame is not JSON');
  }
  if (!isRecord(value)) return fail('frame is not a JSON object');
  switch (value.type) {
    case 'ready':
      if (typeof value.version !== 'number' || typeof value.offset !== 'number' || typeof value.terminal !== 'string')
        return fail('ready needs version, terminal and offset');
      return { ok: true, message: { type: 'ready', version: value.version, terminal: value.terminal, offset: value.offset } };
    case 'output':
      if (typeof value.offset !== 'number' || typeof value.data !== 'string') return fail('output needs offset and data');
      return { ok: true, message: { type: 'output', offset: value.offset, data: value.data } };
    case 'gap':
      if (typeof value.from !== 'number' || typeof value.to !== 'number') return fail('gap needs from and to');
      return { ok: true, message: { type: 'gap', from: value.from, to: value.to } };
    case 'exit':
      if (typeof value.exitCode !== 'number' || typeof value.message !== 'string') return fail('exit needs exitCode and message');
      return { ok: true, message: { type: 'exit', exitCode: value.exitCode, message: value.message } };
    case 'error':
      if (typeof value.message !== 'string') return fail('error needs message');
      return { ok: true, message: { type: 'error', message: value.message } };
    case 'notice': {
      const kind = NOTICE_KINDS.find((k) => k === value.kind);
      if (!kind || typeof value.message !== 'string') return fail(`notice needs a kind (${NOTICE_KINDS.join(', ')}) and a message`);
      if (value.at !== undefined && typeof value.at !== 'number') return fail('notice.at must be a number');
      return { ok: true, message: { type: 'notice', kind, message: value.message, ...(typeof value.at === 'number' ? { at: value.at } : {}) } };
    }
    default:
      return fail(`unknown message type ${JSON.stringify(value.type)}`);
  }
}

/** Clamps a requested terminal size into TERMINAL_LIMITS, rounding down fractions. */
export function clampSize(cols: number, rows: number): { cols: number; rows: number } {
  const clamp = (n: number, lo: number, hi: number) => (Number.isNaN(n) ? lo : Math.min(hi, Math.max(lo, Math.floor(n))));
  return {
    cols: clamp(cols, TERMINAL_LIMITS.minCols, TERMINAL_LIMITS.maxCols),
    rows: clamp(rows, TERMINAL_LIMITS.minRows, TERMINAL_LIMITS.maxRows),
  };
}

export function encode(message: ClientMessage | ServerMessage): string {
  return JSON.stringify(message);
}
