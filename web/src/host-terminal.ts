import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import type { NoticeMessage } from '../../common/protocol.js';
import { TerminalConnection, type ConnectionState } from './terminal-connection.js';

export interface HostTerminalEvents {
  /** The server replaced this terminal's shell (see TerminalConnectionHandlers.newTerminal); the screen is already cleared. */
  newTerminal(terminal: HostTerminal, reason: 'reset' | 'restart'): void;
  /** The connection's state changed; read it from `terminal.state` and `terminal.detail`. */
  state(terminal: HostTerminal): void;
  notice(notice: NoticeMessage): void;
  /** The learner typed into this terminal. */
  input(terminal: HostTerminal): void;
}

export interface HostTerminalOptions {
  /** Where the terminal draws: one tab's panel. */
  readonly panel: HTMLElement;
  /** The WebSocket URL of a fresh connection (a new one-use ticket each time). */
  readonly open: () => Promise<string>;
  /** The size to start with, before the panel is first shown and measured. */
  readonly size?: { readonly cols: number; readonly rows: number };
  readonly events: HostTerminalEvents;
}

const STATE_TEXT: Readonly<Record<ConnectionState, string>> = {
  connecting: 'connecting…',
  connected: 'connected',
  reconnecting: 'reconnecting…',
  gone: 'session ended',
};

/** How a connection state reads on the page, with its detail. */
export function stateText(state: ConnectionState, detail?: string): string {
  return STATE_TEXT[state] + (detail ? ` (${detail})` : '');
}

/**
 * The learner's terminal in one host: an xterm.js terminal, its fit, and its own connection (own
 * ticket, replay offsets, flow control and reconnects). It connects at once, so output arriving
 * while its tab is hidden lands in its scrollback; the xterm is opened into its panel only when
 * the panel is first shown, because xterm measures its characters when it opens, and a hidden
 * panel measures nothing. It is fitted whenever it is shown, so a window resized while the tab was
 * hidden is caught up.
 */
export class HostTerminal {
  readonly term: Terminal;
  private readonly connection: TerminalConnection;
  readonly panel: HTMLElement;
  state: ConnectionState = 'connecting';
  detail: string | undefined;
  private readonly fit = new FitAddon();
  private opened = false;

  /** `name`: the host's; undefined for the main terminal until the session is loaded and names it. */
  constructor(
    public name: string | undefined,
    options: HostTerminalOptions,
  ) {
    this.panel = options.panel;
    const { events } = options;
    this.term = new Terminal({
      cursorBlink: true,
      fontSize: 14,
      scrollback: 5000,
      convertEol: false,
      theme: { background: '#1e1e1e' },
      ...(options.size ? { cols: options.size.cols, rows: options.size.rows } : {}),
    });
    this.term.loadAddon(this.fit);
    const term = this.term;
    this.connection = new TerminalConnection(options.open, {
      output: (data, drawn) => term.write(data, drawn),
      gap: (lost) => {
        term.reset();
        term.write(`\x1b[33m[${lost} characters of output were dropped while you were away; press Enter for a fresh prompt]\x1b[0m\r\n`);
      },
      newTerminal: (reason) => {
        term.reset();
        events.newTerminal(this, reason);
      },
      notice: (notice) => events.notice(notice),
      state: (state, detail) => {
        this.state = state;
        this.detail = detail;
        if (state === 'gone') term.write(`\r\n\x1b[31m[${detail ?? 'the session has ended'}]\x1b[0m\r\n`);
        events.state(this);
      },
    });
    // The first hello carries this size; the fit that follows the first showing corrects it.
    this.connection.resize(term.cols, term.rows);
    term.onData((data) => {
      events.input(this);
      this.connection.send(data);
    });
    term.onResize(({ cols, rows }) => this.connection.resize(cols, rows));
    new ResizeObserver(() => this.refit()).observe(this.panel);
  }

  /** Shows the panel, opening the terminal there the first time, and fits it to the panel's size now. */
  show(): void {
    this.panel.hidden = false;
    if (!this.opened) {
      this.opened = true;
      this.term.open(this.panel);
    }
    this.refit();
  }

  hide(): void {
    this.panel.hidden = true;
  }

  get shown(): boolean {
    return this.opened && !this.panel.hidden;
  }

  send(data: string): void {
    this.connection.send(data);
  }

  focus(): void {
    if (this.opened) this.term.focus();
  }

  /** Fits the terminal to its panel; a hidden panel keeps its size until it is shown again. */
  refit(): void {
    if (!this.shown) return;
    try {
      this.fit.fit();
    } catch {
      // The pane can be zero-sized for a moment while the layout settles.
    }
  }
}
