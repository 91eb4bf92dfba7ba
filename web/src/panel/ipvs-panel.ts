/**
 * The live IPVS panel beside the learner's terminal: its toggle, its event stream and its redraws.
 * The server reads the kernel only while a stream is open, so the stream is open exactly while
 * the panel is: closing it aborts the request.
 */
import type { IpvsPanelEvent, IpvsPanelTable } from '../../../common/api.js';
import { attrs, el } from '../dom.js';
import { JsonEventStream, type EventStreamState } from '../event-stream.js';
import { announcement, PanelModel } from './panel-changes.js';
import { clockSeconds, isIpvsPanelEvent, panelView } from './panel-model.js';
import { morph, panelContent, panelMessage } from './panel-view.js';

/** Open or closed, for every session: a learner who wants the panel wants it in the next lab too. */
export const PANEL_OPEN_KEY = 'ipvs-lab:ipvs-panel';

export interface IpvsPanelOptions {
  /** The empty `<section id="ipvs-panel">` of session.html, which the panel fills. */
  readonly section: HTMLElement;
  /** Where the toggle button goes (the terminal bar). */
  readonly toggleParent: HTMLElement;
  /** Gets the class `with-ipvs-panel` while the panel is open, so the layout makes room for it. */
  readonly layout: HTMLElement;
  readonly sessionId: string;
  /** The session token, sent as a bearer token. */
  readonly token: string;
  /** The director: `SessionState.ipvsHost`. */
  readonly host: string;
  /** The lab's virtual IP (its `vip` variable), for the hint of the empty table. */
  readonly vip?: string;
  readonly storage: Pick<Storage, 'getItem' | 'setItem'>;
}

type Status = { readonly state: 'connecting' | 'live' | 'reconnecting' | 'stopped' | 'unavailable'; readonly text: string; readonly detail?: string };

export class IpvsPanel {
  readonly toggle: HTMLButtonElement;
  private readonly model = new PanelModel();
  private readonly section: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly status: HTMLElement;
  private readonly statusText = document.createTextNode('');
  private readonly live: HTMLElement;
  private readonly body: HTMLElement;
  private stream: JsonEventStream<IpvsPanelEvent> | undefined;
  private streamState: EventStreamState = 'stopped';
  private streamDetail: string | undefined;
  /** The last event said the table cannot be read: its message. */
  private unavailable: string | undefined;
  private expiry: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: IpvsPanelOptions) {
    this.section = options.section;
    const chevron = attrs(el('span', { className: 'ipvs-chevron' }), { 'aria-hidden': 'true' });
    this.toggle = attrs(el('button', { type: 'button', id: 'ipvs-toggle', className: 'ipvs-toggle' }, chevron, 'IPVS table'), {
      'aria-expanded': 'false',
      'aria-controls': this.section.id,
    });
    this.toggle.addEventListener('click', () => (this.isOpen ? this.close() : this.open()));
    options.toggleParent.append(this.toggle);

    this.heading = el('span', { className: 'ipvs-host' }, options.host);
    this.status = el('p', { className: 'ipvs-status' }, attrs(el('span', { className: 'ipvs-dot' }), { 'aria-hidden': 'true' }), this.statusText);
    // Near the panel when it is stacked far below its toggle; its name must not contain the toggle's.
    const hide = el('button', { type: 'button', className: 'ipvs-close' }, 'Hide');
    hide.addEventListener('click', () => {
      this.close();
      this.toggle.focus();
    });
    // Only structural changes are said: counters tick several times a second.
    this.live = attrs(el('div', { className: 'visually-hidden' }), { 'aria-live': 'polite' });
    this.body = panelMessage('');
    this.section.replaceChildren(
      el(
        'div',
        { className: 'ipvs-head' },
        el('h2', { className: 'ipvs-title' }, 'IPVS table ', el('span', { className: 'ipvs-of' }, 'of '), this.heading),
        hide,
      ),
      this.status,
      this.live,
      this.body,
    );
    this.section.hidden = true;
    if (options.storage.getItem(PANEL_OPEN_KEY) === 'open') this.open();
  }

  get isOpen(): boolean {
    return this.stream !== undefined;
  }

  open(): void {
    if (this.isOpen) return;
    this.setShown(true);
    // What changed while it was closed is not "just now".
    this.model.reset();
    this.unavailable = undefined;
    const { sessionId, token } = this.options;
    const stream: JsonEventStream<IpvsPanelEvent> = new JsonEventStream<IpvsPanelEvent>({
      name: 'IPVS panel',
      url: `/api/sessions/${encodeURIComponent(sessionId)}/ipvs`,
      token,
      accept: isIpvsPanelEvent,
      handlers: {
        event: (event) => {
          if (this.stream === stream) this.onEvent(event);
        },
        state: (state, detail) => {
          if (this.stream !== stream) return;
          // A new connection's first event says afresh whether the table can be read.
          if (state === 'live') this.unavailable = undefined;
          this.streamState = state;
          this.streamDetail = detail;
          this.render();
        },
      },
    });
    this.stream = stream;
    this.streamState = 'connecting';
    this.streamDetail = undefined;
    this.render();
  }

  close(): void {
    if (!this.isOpen) return;
    this.stream?.close();
    this.stream = undefined;
    clearTimeout(this.expiry);
    this.setShown(false);
  }

  private setShown(open: boolean): void {
    this.section.hidden = !open;
    this.options.layout.classList.toggle('with-ipvs-panel', open);
    this.toggle.setAttribute('aria-expanded', String(open));
    this.options.storage.setItem(PANEL_OPEN_KEY, open ? 'open' : 'closed');
  }

  private onEvent(event: IpvsPanelEvent): void {
    this.heading.textContent = event.host;
    if (event.type === 'unavailable') {
      this.unavailable = event.message;
      return this.render();
    }
    this.unavailable = undefined;
    const changes = this.model.apply(event, Date.now());
    if (changes.length > 0) this.live.replaceChildren(el('p', {}, announcement(changes)));
    this.render();
  }

  private statusOf(table: IpvsPanelTable | undefined): Status {
    const detail = this.streamDetail;
    switch (this.streamState) {
      case 'connecting':
        return { state: 'connecting', text: 'connecting…' };
      case 'reconnecting':
        return { state: 'reconnecting', text: 'reconnecting…', ...(detail ? { detail } : {}) };
      case 'stopped':
        return { state: 'stopped', text: `stopped${detail ? `: ${detail}` : ''}; hide and show the panel to try again` };
      case 'live':
        if (this.unavailable !== undefined) return { state: 'unavailable', text: this.unavailable };
        // The server sends a reading only when the table changed: its time is that of the last change.
        return { state: 'live', text: table ? `live · last change ${clockSeconds(table.at)}` : 'live · waiting for the first reading…' };
    }
  }

  /** Draws the status and the content for now; again when a highlight or a mark runs out. */
  private render(): void {
    clearTimeout(this.expiry);
    const now = Date.now();
    const table = this.model.table;
    const status = this.statusOf(table);
    this.status.dataset.state = status.state;
    this.statusText.data = status.text;
    this.status.title = status.detail ?? '';
    let content: HTMLElement;
    // A table from before the host went away would pass for the current one: the status says why there is none.
    if (this.unavailable !== undefined && this.streamState === 'live') content = panelMessage('No table to show until it can be read again.');
    else if (table) {
      const view = panelView(table, {
        changes: this.model.active(now),
        now,
        hostOf: (endpoint) => this.model.hostOf(endpoint),
        ...(this.options.vip === undefined ? {} : { vip: this.options.vip }),
      });
      content = panelContent(view, now);
    } else
      content = panelMessage(this.streamState === 'stopped' ? 'The panel is not connected.' : `Reading the IPVS table of ${this.heading.textContent ?? ''}…`);
    morph(this.body, content);
    const next = this.model.nextExpiry(now);
    if (next !== undefined && this.isOpen) this.expiry = setTimeout(() => this.render(), next - now + 20);
  }
}
