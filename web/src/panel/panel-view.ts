/**
 * Draws a `PanelView` (panel-model.ts) as elements: a real table per virtual service, the strip of
 * its recent connections and each backend's share of them. Everything in a view came from a
 * learner's container, so it goes in as text (`el()`), never as HTML.
 */
import { attrs, el } from '../dom.js';
import type { Backend, Marks, PanelView, ServerRow, ServiceView } from './panel-model.js';
import { formatCount } from './panel-model.js';

const COLUMNS = ['Real server', 'Forward', 'Weight', 'Active', 'Inactive', 'Conns', 'InPkts', 'OutPkts'] as const;
/** Where a heading may break: eight columns fit the panel's 400 px only with narrow headings. */
const BREAKS: Readonly<Record<string, number>> = { Inactive: 2, InPkts: 2, OutPkts: 3 };

function columnHead(name: string): HTMLTableCellElement {
  const at = BREAKS[name];
  return el('th', { scope: 'col' }, ...(at === undefined ? [name] : [name.slice(0, at), el('wbr'), name.slice(at)]));
}

/**
 * What the OutPkts cell of a server in direct routing or tunnelling adds to its number, so its 0
 * does not look like a fault; the note under the table says why (the cell has no room for it).
 */
export const BYPASS_TEXT = 'bypass';
export const BYPASS_NOTE =
  'bypass: under Route (DR) and Tunnel (IPIP) the real server answers the client directly, so its replies bypass the director and OutPkts stays 0.';

const hidden = (text: string) => el('span', { className: 'visually-hidden' }, text);
const ariaHidden = <T extends Element>(node: T) => attrs(node, { 'aria-hidden': 'true' });

/** A mark's words; its arrow is read out as "to". */
function markNode(text: string): HTMLElement {
  const [from, ...rest] = text.split(' → ');
  const mark = el('span', { className: 'ipvs-mark' }, from!);
  for (const to of rest) mark.append(ariaHidden(el('span', {}, ' → ')), hidden(' to '), to);
  return mark;
}

/** Marks `node` as just changed: its words after it, and the highlight class while it fades. */
function marked<T extends HTMLElement>(node: T, marks: Marks, now: number, wordsIn: HTMLElement = node): T {
  for (const text of marks.texts) wordsIn.append(' ', markNode(text));
  if (marks.flashSince !== undefined) {
    node.classList.add('ipvs-flash');
    node.dataset.flashSince = String(marks.flashSince);
    // Started as far in as the change is old: a redraw in the middle of the fade does not restart it.
    node.style.setProperty('--flash-delay', `${marks.flashSince - now}ms`);
  }
  return node;
}

function swatch(backend: Backend): HTMLElement {
  return ariaHidden(el('span', { className: `ipvs-swatch backend-${backend.colour}` }, backend.label));
}

/** A number cell; `undefined`: the counters were not read in this pass. */
function countCell(n: number | undefined): HTMLTableCellElement {
  if (n === undefined) return el('td', { className: 'num ipvs-unread', title: 'not read in this pass' }, ariaHidden(el('span', {}, '–')), hidden('not read'));
  return el('td', { className: 'num' }, formatCount(n));
}

function outPacketsCell(n: number | undefined, bypass: boolean): HTMLTableCellElement {
  const cell = countCell(n);
  if (bypass) cell.append(' ', el('span', { className: 'ipvs-bypass', title: 'replies bypass the director' }, BYPASS_TEXT));
  return cell;
}

function serverRow(row: ServerRow, now: number): HTMLTableRowElement {
  const b = row.backend;
  const head = el(
    'th',
    { scope: 'row', className: 'ipvs-server' },
    swatch(b),
    ' ',
    el('span', { className: b.host === undefined ? 'ipvs-server-name ipvs-address' : 'ipvs-server-name' }, b.name),
    ...(b.host === undefined ? [] : [' ', el('span', { className: 'ipvs-endpoint' }, row.endpoint)]),
  );
  const weight = el('td', { className: 'num ipvs-weight' }, String(row.weight));
  if (row.quiesced) weight.append(' ', el('span', { className: 'ipvs-badge ipvs-quiesced' }, 'quiesced'));
  const forward = el('td', { className: 'ipvs-forward' }, row.forward);
  // Each change's words by what changed: a new weight by the weight, a new method by the method.
  marked(weight, { texts: row.marks.weight }, now);
  marked(forward, { texts: row.marks.forward }, now);
  const tr = el(
    'tr',
    {},
    head,
    forward,
    weight,
    countCell(row.active),
    countCell(row.inactive),
    countCell(row.stats?.conns),
    countCell(row.stats?.inPackets),
    outPacketsCell(row.stats?.outPackets, row.bypass),
  );
  tr.dataset.server = row.endpoint;
  if (row.quiesced) tr.classList.add('ipvs-quiesced-row');
  return marked(tr, row.marks, now, head);
}

function serviceTable(service: ServiceView, now: number): HTMLElement {
  const caption = el(
    'caption',
    {},
    el('span', { className: 'ipvs-key' }, service.key),
    ' ',
    el('span', { className: 'ipvs-details' }, service.details.join(' · ')),
  );
  marked(caption, service.marks, now);
  const head = el('thead', {}, el('tr', {}, ...COLUMNS.map(columnHead)));
  const body = el('tbody', {}, ...service.rows.map((r) => serverRow(r, now)));
  if (service.rows.length === 0)
    body.append(el('tr', {}, el('td', { colSpan: COLUMNS.length, className: 'ipvs-no-servers' }, 'No real servers yet: add one with ipvsadm -a.')));
  const t = service.totals;
  const foot = el(
    'tfoot',
    {},
    el(
      'tr',
      {},
      el('th', { scope: 'row' }, 'Service total'),
      el('td', {}),
      el('td', {}),
      countCell(t.active),
      countCell(t.inactive),
      countCell(t.stats?.conns),
      countCell(t.stats?.inPackets),
      outPacketsCell(t.stats?.outPackets, t.bypass),
    ),
  );
  const wrap = el('div', { className: 'ipvs-table-wrap' }, el('table', { className: 'ipvs-table' }, caption, head, body, foot));
  if (service.rows.some((r) => r.bypass)) wrap.append(el('p', { className: 'ipvs-bypass-note' }, BYPASS_NOTE));
  return wrap;
}

function traffic(service: ServiceView): HTMLElement {
  const group = attrs(el('div', { className: 'ipvs-traffic' }), { role: 'group', 'aria-label': `Recent connections to ${service.key}` });
  if (service.strip.length === 0) {
    group.append(el('p', { className: 'ipvs-no-traffic' }, 'No connections to this service yet.'));
    return group;
  }
  const strip = attrs(
    el(
      'ol',
      { className: 'ipvs-strip' },
      ...service.strip.map((cell) => {
        const li = el(
          'li',
          { className: `ipvs-cell backend-${cell.backend.colour}`, title: cell.title },
          ariaHidden(el('span', { className: 'ipvs-cell-label' }, cell.backend.label)),
          hidden(cell.backend.name),
        );
        li.dataset.server = cell.backend.endpoint;
        return li;
      }),
    ),
    { 'aria-label': service.stripLabel },
  );
  const shares = attrs(
    el(
      'ul',
      { className: 'ipvs-shares' },
      ...service.shares.map((share) => {
        const fill = el('span', { className: `ipvs-bar-fill backend-${share.backend.colour}` });
        fill.style.width = `${share.percent}%`;
        const li = el(
          'li',
          { className: 'ipvs-share' },
          swatch(share.backend),
          el('span', { className: 'ipvs-share-text' }, share.text),
          ariaHidden(el('span', { className: 'ipvs-bar' }, fill)),
        );
        if (!share.backend.current) li.append(el('span', { className: 'ipvs-gone' }, 'no longer in the table'));
        li.dataset.server = share.backend.endpoint;
        return li;
      }),
    ),
    { 'aria-label': 'Share of each real server' },
  );
  group.append(ariaHidden(el('p', { className: 'ipvs-traffic-title' }, service.stripLabel)), strip, shares);
  return group;
}

function serviceBlock(service: ServiceView, now: number): HTMLElement {
  const block = el('div', { className: 'ipvs-service' }, serviceTable(service, now));
  block.dataset.service = service.key;
  for (const gone of service.removed) block.append(marked(el('p', { className: 'ipvs-removed' }, `Real server ${gone.name}`), gone.marks, now));
  block.append(traffic(service));
  return block;
}

/** The panel's content for one reading: the services, or a line saying how to make one. */
export function panelContent(view: PanelView, now: number): HTMLElement {
  const body = el('div', { className: 'ipvs-body' });
  for (const gone of view.removedServices) body.append(marked(el('p', { className: 'ipvs-removed' }, `Service ${gone.key}`), gone.marks, now));
  if (view.services.length === 0)
    body.append(el('p', { className: 'ipvs-empty' }, 'No virtual services yet: create one with ', el('code', {}, view.emptyCommand), '.'));
  body.append(...view.services.map((s) => serviceBlock(s, now)));
  if (view.more) body.append(el('p', { className: 'ipvs-more' }, view.more));
  if (view.truncated) body.append(el('p', { className: 'ipvs-truncated' }, view.truncated));
  return body;
}

/** Replaces the panel's content with a single line (connecting, unavailable). */
export function panelMessage(text: string): HTMLElement {
  return el('div', { className: 'ipvs-body' }, el('p', { className: 'ipvs-message' }, text));
}

const flashOf = (node: Node) => (node instanceof HTMLElement ? node.dataset.flashSince : undefined);

/**
 * Makes `target` look like `source`, keeping `target`'s nodes wherever the two have the same tag:
 * a reading that only moved counters then leaves the learner where they were (the table's
 * scroll, a screen reader's place). An element whose highlight starts anew is replaced instead,
 * so its fade starts over; one whose highlight goes on keeps its style, so the fade is not moved.
 */
export function morph(target: Node, source: Node): void {
  if (target.nodeType === Node.TEXT_NODE && source.nodeType === Node.TEXT_NODE) {
    if (target.nodeValue !== source.nodeValue) target.nodeValue = source.nodeValue;
    return;
  }
  const since = flashOf(source);
  if (!(target instanceof Element) || !(source instanceof Element) || target.tagName !== source.tagName || (since !== undefined && since !== flashOf(target))) {
    target.parentNode?.replaceChild(source, target);
    return;
  }
  for (const name of target.getAttributeNames()) if (!source.hasAttribute(name)) target.removeAttribute(name);
  for (const name of source.getAttributeNames()) {
    if (name === 'style' && since !== undefined) continue;
    const value = source.getAttribute(name)!;
    if (target.getAttribute(name) !== value) target.setAttribute(name, value);
  }
  const want = [...source.childNodes];
  const have = [...target.childNodes];
  want.forEach((node, i) => {
    const old = have[i];
    if (old) morph(old, node);
    else target.appendChild(node);
  });
  for (const extra of have.slice(want.length)) extra.remove();
}
