import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import type { LabSummary, LearnerStep, LearnerView, WorkshopCreateRequest, WorkshopEvent, WorkshopSummary, WorkshopView } from '../../common/api.js';
import { api, ApiCallError } from './api-client.js';
import { attrs, clockTime, copyText, duration, el } from './dom.js';
import { JsonEventStream, type EventStreamState } from './event-stream.js';
import { OpenError, TerminalConnection, type ConnectionState } from './terminal-connection.js';

const SECRET_KEY = 'ipvs-lab:instructor-secret';
const HIDE_NAMES_KEY = 'ipvs-lab:instructor-hide-names';
const SELECTED_KEY = 'ipvs-lab:instructor-workshop';
/** Bursts of events (a class running checks together) cost one fetch per this long, at most. */
const REFRESH_GAP_MS = 300;
/** Refetched this often even without events, so idle times and stuck flags move. */
const POLL_MS = 15_000;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const authSection = $<HTMLElement>('auth');
const authForm = $<HTMLFormElement>('auth-form');
const secretInput = $<HTMLInputElement>('secret');
const authError = $<HTMLParagraphElement>('auth-error');
const signOutButton = $<HTMLButtonElement>('sign-out');
const liveBadge = $<HTMLSpanElement>('live');
const dashboard = $<HTMLDivElement>('dashboard');
const dashMessage = $<HTMLParagraphElement>('dash-message');
const createForm = $<HTMLFormElement>('create-form');
const labSelect = $<HTMLSelectElement>('new-lab');
const createButton = $<HTMLButtonElement>('create');
const createMessage = $<HTMLParagraphElement>('create-message');
const workshopList = $<HTMLUListElement>('workshop-list');
const workshopSection = $<HTMLElement>('workshop');
const wsMessage = $<HTMLParagraphElement>('ws-message');
const cellDetail = $<HTMLParagraphElement>('cell-detail');
const hideNames = $<HTMLInputElement>('hide-names');
const grid = $<HTMLTableElement>('grid');
const mirrorPanel = $<HTMLElement>('mirror-panel');
const mirrorBox = $<HTMLDivElement>('mirror');
const mirrorName = $<HTMLSpanElement>('mirror-name');
const mirrorState = $<HTMLSpanElement>('mirror-state');
const resetDialog = $<HTMLDialogElement>('reset-dialog');

// ---- the secret ---------------------------------------------------------------------------------

/**
 * The server's log prints a link with the secret in its fragment (which browsers never send). The
 * page keeps it for this tab only and takes it out of the address bar, where a projector shows it.
 */
function takeSecret(): string {
  const fromLink = new URLSearchParams(location.hash.slice(1)).get('secret');
  if (fromLink) {
    sessionStorage.setItem(SECRET_KEY, fromLink);
    history.replaceState(history.state, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(SECRET_KEY) ?? '';
}
let secret = takeSecret();

function showAuth(error = '', prefill = ''): void {
  select(undefined);
  dashboard.hidden = true;
  signOutButton.hidden = true;
  authSection.hidden = false;
  authError.textContent = error;
  secretInput.value = prefill;
  secretInput.focus();
}

function signOut(error = ''): void {
  sessionStorage.removeItem(SECRET_KEY);
  secret = '';
  showAuth(error);
}

/** Opens the dashboard if the secret is accepted; otherwise asks for it, saying why. */
async function signIn(): Promise<void> {
  if (!secret) return showAuth();
  try {
    summaries = await api.workshops(secret);
  } catch (e) {
    if (e instanceof ApiCallError && e.status === 403) return signOut('The server refused this secret. Check it in the server log and try again.');
    return showAuth(`Could not reach the lab server: ${(e as Error).message}`, secret);
  }
  authSection.hidden = true;
  dashboard.hidden = false;
  signOutButton.hidden = false;
  void loadLabs();
  const stored = sessionStorage.getItem(SELECTED_KEY);
  const newest = summaries.reduce<WorkshopSummary | undefined>((a, w) => (a && a.createdAt > w.createdAt ? a : w), undefined);
  select(summaries.find((w) => w.id === stored)?.id ?? newest?.id);
}

authForm.addEventListener('submit', (event) => {
  event.preventDefault();
  secret = secretInput.value.trim();
  sessionStorage.setItem(SECRET_KEY, secret);
  secretInput.value = '';
  void signIn();
});
signOutButton.addEventListener('click', () => signOut());

/** Errors of instructor calls: a refused secret sends the page back to the secret form. */
function explain(e: unknown): string {
  if (e instanceof ApiCallError && e.status === 403) {
    signOut(`The server refused the secret: ${e.message}`);
  }
  return e instanceof ApiCallError ? e.message : `the lab server does not answer (${(e as Error).message})`;
}

// ---- new workshop -------------------------------------------------------------------------------

async function loadLabs(): Promise<void> {
  if (labSelect.options.length > 0) return;
  let labs: LabSummary[];
  try {
    labs = await api.labs();
  } catch (e) {
    createMessage.className = 'message error';
    createMessage.textContent = `Could not load the labs: ${(e as Error).message}`;
    return;
  }
  labSelect.replaceChildren(...labs.map((lab) => el('option', { value: lab.id }, `${lab.title} (${lab.steps} steps)`)));
}

const numberOf = (name: string): number | undefined => {
  const input = createForm.elements.namedItem(name) as HTMLInputElement;
  return input.value.trim() === '' ? undefined : input.valueAsNumber;
};

createForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const title = (createForm.elements.namedItem('title') as HTMLInputElement).value.trim();
  const minutes = numberOf('minutes');
  const request: WorkshopCreateRequest = {
    lab: labSelect.value,
    seats: numberOf('seats') ?? 30,
    warm: numberOf('warm') ?? 0,
    ...(title ? { title } : {}),
    ...(minutes !== undefined ? { minutes } : {}),
  };
  void create(request);
});

async function create(request: WorkshopCreateRequest): Promise<void> {
  createButton.disabled = true;
  createMessage.className = 'message';
  createMessage.textContent = 'Creating the workshop…';
  try {
    const created = await api.createWorkshop(secret, request);
    createMessage.textContent = `Created "${created.title}".`;
    $('created-code').textContent = created.code;
    const link = $<HTMLAnchorElement>('created-link');
    link.href = created.joinUrl;
    link.textContent = created.joinUrl;
    $('created').hidden = false;
    await refreshList();
    select(created.id);
  } catch (e) {
    createMessage.className = 'message error';
    createMessage.textContent = `Could not create the workshop: ${explain(e)}`;
  } finally {
    createButton.disabled = false;
  }
}

function copyButton(button: HTMLButtonElement, text: () => string): void {
  button.addEventListener('click', () => {
    void copyText(text()).then(() => {
      button.textContent = 'Copied';
      setTimeout(() => (button.textContent = 'Copy'), 1200);
    });
  });
}
copyButton($('created-copy'), () => $<HTMLAnchorElement>('created-link').href);
copyButton($('ws-copy'), () => view?.joinUrl ?? '');

// ---- the list of workshops ----------------------------------------------------------------------

let summaries: WorkshopSummary[] = [];

async function refreshList(): Promise<void> {
  try {
    summaries = await api.workshops(secret);
    renderList();
  } catch (e) {
    dashMessage.className = 'message error';
    dashMessage.textContent = `Could not list the workshops: ${explain(e)}`;
  }
}

function renderList(): void {
  keepingFocus(() => {
    if (summaries.length === 0) {
      workshopList.replaceChildren(el('li', { className: 'empty' }, 'No live workshop: create one.'));
      return;
    }
    workshopList.replaceChildren(
      ...[...summaries]
        .sort((a, b) => b.createdAt - a.createdAt)
        .map((w) => {
          const pick = el(
            'button',
            { type: 'button', className: 'workshop-pick' },
            el('strong', {}, w.title),
            el('span', { className: 'code' }, w.code),
            el('span', { className: 'meta' }, `${w.learners} of ${w.seats} joined${w.endsAt === undefined ? '' : ` · ends ${clockTime(w.endsAt)}`}`),
          );
          pick.dataset.workshop = w.id;
          pick.dataset.key = `pick:${w.id}`;
          if (w.id === selectedId) pick.setAttribute('aria-current', 'true');
          pick.addEventListener('click', () => select(w.id));
          return el('li', {}, pick);
        }),
    );
  });
}

// ---- the selected workshop ----------------------------------------------------------------------

let selectedId: string | undefined;
let view: WorkshopView | undefined;
let stream: JsonEventStream<WorkshopEvent> | undefined;
/** Bumped at each selection, so answers about an earlier one are dropped. */
let generation = 0;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let fetching = false;
let fetchAgain = false;
let lastFetch = 0;

function select(id: string | undefined): void {
  stream?.close();
  stream = undefined;
  closeMirror();
  generation++;
  selectedId = id;
  view = undefined;
  if (id) sessionStorage.setItem(SELECTED_KEY, id);
  else sessionStorage.removeItem(SELECTED_KEY);
  renderList();
  workshopSection.hidden = id === undefined;
  showLive(id === undefined ? undefined : 'connecting');
  if (id === undefined) return;
  $('ws-title').textContent = 'Loading…';
  wsMessage.textContent = '';
  hideDetail();
  const events = new JsonEventStream<WorkshopEvent>({
    name: 'workshop events',
    url: `/api/workshops/${encodeURIComponent(id)}/events`,
    token: secret,
    isFinal: (event) => event.type === 'ended',
    finalDetail: 'the workshop has ended',
    handlers: {
      event: (event) => {
        if (stream === events) onEvent(event);
      },
      state: (state, detail) => {
        if (stream !== events) return;
        showLive(state, detail);
        // Events sent while the stream was away are lost: the view says where things are now.
        if (state === 'live') scheduleRefresh();
      },
    },
  });
  stream = events;
  scheduleRefresh();
}

function showLive(state: EventStreamState | undefined, detail?: string): void {
  if (state === undefined) {
    liveBadge.textContent = '';
    delete liveBadge.dataset.state;
    return;
  }
  liveBadge.dataset.state = state;
  liveBadge.textContent = { connecting: 'connecting…', live: '● live', reconnecting: 'reconnecting…', stopped: 'not live' }[state];
  liveBadge.title = detail ?? '';
}

function onEvent(event: WorkshopEvent): void {
  if (event.type === 'ended')
    return ended(`The workshop "${view?.title ?? selectedId}" ended at ${clockTime(event.at)}; its learners' containers are being removed.`);
  // Every other event (a join, a check, a hint revealed, a reset…) changes the grid: one coalesced refetch redraws it.
  scheduleRefresh();
}

/** Coalesces bursts: one fetch now, and at most one more per REFRESH_GAP_MS while events keep coming. */
function scheduleRefresh(): void {
  if (!selectedId || refreshTimer !== undefined) return;
  if (fetching) {
    fetchAgain = true;
    return;
  }
  refreshTimer = setTimeout(
    () => {
      refreshTimer = undefined;
      void refresh();
    },
    Math.max(0, lastFetch + REFRESH_GAP_MS - Date.now()),
  );
}

async function refresh(): Promise<void> {
  const id = selectedId;
  if (!id) return;
  const mine = generation;
  fetching = true;
  lastFetch = Date.now();
  try {
    const fresh = await api.workshop(secret, id);
    if (mine !== generation) return;
    view = fresh;
    render(fresh);
  } catch (e) {
    if (mine !== generation) return;
    if (e instanceof ApiCallError && e.status === 404) return ended(`That workshop is not live any more: ${e.message}.`);
    wsMessage.className = 'message error';
    wsMessage.textContent = `Could not refresh: ${explain(e)}`;
  } finally {
    fetching = false;
    if (fetchAgain) {
      fetchAgain = false;
      scheduleRefresh();
    }
  }
}

function ended(message: string): void {
  select(undefined);
  dashMessage.className = 'message';
  dashMessage.textContent = message;
  void refreshList();
}

// ---- rendering ----------------------------------------------------------------------------------

/**
 * Runs a re-render and puts the keyboard focus back on the element with the same `data-key`:
 * the grid is redrawn every few seconds, and a keyboard user must not be thrown out of it.
 */
function keepingFocus(render: () => void): void {
  const key = document.activeElement instanceof HTMLElement ? document.activeElement.dataset.key : undefined;
  render();
  if (key) document.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

/** Learners in join order, with the name to show: theirs, or "Learner n" while names are hidden. */
function shownNames(learners: readonly LearnerView[]): { learner: LearnerView; name: string }[] {
  return [...learners].sort((a, b) => a.joinedAt - b.joinedAt).map((learner, i) => ({ learner, name: hideNames.checked ? `Learner ${i + 1}` : learner.name }));
}

function render(v: WorkshopView): void {
  $('ws-title').textContent = v.title;
  $('ws-code').textContent = v.code;
  const link = $<HTMLAnchorElement>('ws-link');
  link.href = v.joinUrl;
  link.textContent = v.joinUrl;
  const live = v.learners.filter((l) => l.state === 'live').length;
  $('ws-seats').textContent = `${v.learners.length} of ${v.seats} taken${live < v.learners.length ? ` (${live} live)` : ''}`;
  $('ws-warm').textContent = v.warm.wanted === 0 ? 'none asked for' : `${v.warm.ready} of ${v.warm.wanted} ready`;
  $('ws-ends').textContent =
    v.endsAt === undefined ? 'when you end it' : `at ${clockTime(v.endsAt)} (in ${duration(Math.max(0, (v.endsAt - Date.now()) / 1000))})`;
  const summary = summaries.find((w) => w.id === v.id);
  if (summary && summary.learners !== v.learners.length) {
    summaries = summaries.map((w) => (w.id === v.id ? { ...w, learners: v.learners.length } : w));
    renderList();
  }
  keepingFocus(() => renderGrid(v));
  if (mirror) mirrorName.textContent = shownNames(v.learners).find((n) => n.learner.sessionId === mirror?.sessionId)?.name ?? 'a learner who left';
}

function abbreviate(title: string, max = 22): string {
  return title.length <= max ? title : `${title.slice(0, max - 1).trimEnd()}…`;
}

function renderGrid(v: WorkshopView): void {
  const [head, body, foot] = [grid.tHead!, grid.tBodies[0]!, grid.tFoot!];
  head.replaceChildren(
    el(
      'tr',
      {},
      attrs(el('th', {}, 'Learner'), { scope: 'col' }),
      ...v.steps.map((s, i) =>
        attrs(el('th', { className: 'step-head', title: s.title }, `${i + 1}. ${abbreviate(s.title)}`), { scope: 'col', 'aria-label': `${i + 1}. ${s.title}` }),
      ),
      attrs(el('th', {}, 'Current step'), { scope: 'col' }),
      attrs(el('th', {}, 'Idle'), { scope: 'col' }),
      attrs(el('th', {}, 'Actions'), { scope: 'col' }),
    ),
  );
  const rows = shownNames(v.learners);
  body.replaceChildren(
    ...(rows.length === 0
      ? [
          el(
            'tr',
            {},
            el(
              'td',
              { className: 'empty', colSpan: v.steps.length + 4 },
              `No one has joined yet. Learners open ${v.joinUrl}, or type ${v.code} on the start page.`,
            ),
          ),
        ]
      : rows.map(({ learner, name }) => learnerRow(v, learner, name))),
  );
  foot.replaceChildren(
    el(
      'tr',
      {},
      attrs(el('th', {}, 'Passed'), { scope: 'row' }),
      ...v.steps.map((s) => {
        const td = el(
          'td',
          { className: 'total', title: `${v.totals[s.id] ?? 0} of ${v.learners.length} learners passed ${s.title}` },
          `${v.totals[s.id] ?? 0} of ${v.learners.length}`,
        );
        td.dataset.total = s.id;
        return td;
      }),
      el('td', { colSpan: 3 }),
    ),
  );
}

function learnerRow(v: WorkshopView, learner: LearnerView, name: string): HTMLTableRowElement {
  const row = el('tr');
  row.dataset.session = learner.sessionId;
  row.dataset.state = learner.state;
  if (learner.stuck) row.classList.add('is-stuck');
  if (learner.state === 'ended') row.classList.add('ended');

  const who = attrs(el('th', { className: 'learner' }, el('span', { className: 'learner-name' }, name)), { scope: 'row' });
  if (learner.stuck) who.append(el('span', { className: 'badge stuck' }, `⚠ Stuck: ${learner.stuck}`));
  if (learner.state === 'ended') who.append(el('span', { className: 'badge ended-reason' }, `Ended: ${learner.endedReason ?? 'unknown'}`));

  const steps = new Map(learner.steps.map((s) => [s.id, s]));
  const cells = v.steps.map((def) => stepCell(learner, name, def, steps.get(def.id)));

  const index = v.steps.findIndex((s) => s.id === learner.currentStep);
  const current =
    learner.currentStep === undefined
      ? el('td', { className: 'current done' }, '✓ all done')
      : el('td', { className: 'current' }, `${index + 1}. ${v.steps[index]?.title ?? learner.currentStep}`);
  const idle = el('td', { className: 'idle' }, learner.state === 'ended' ? '—' : learner.idleSeconds < 60 ? '< 1 min' : duration(learner.idleSeconds));

  const live = learner.state === 'live';
  const actions = el(
    'td',
    { className: 'actions' },
    action('Watch', name, learner, () => watch(learner.sessionId), !live),
    action('Reset', name, learner, () => resetLearner(learner.sessionId, name), !live),
    action('Remove', name, learner, () => void removeLearner(learner.sessionId, name)),
  );
  row.append(who, ...cells, current, idle, actions);
  return row;
}

function action(label: 'Watch' | 'Reset' | 'Remove', name: string, learner: LearnerView, onClick: () => void, disabled = false): HTMLButtonElement {
  const button = attrs(el('button', { type: 'button', className: label.toLowerCase(), disabled }, label), { 'aria-label': `${label} ${name}` });
  button.dataset.key = `${learner.sessionId}:${label}`;
  button.addEventListener('click', onClick);
  return button;
}

/** "💡2" for the eyes, "2 hints used" for screen readers; nothing when the learner used none. */
function hintsUsed(step: LearnerStep | undefined): { text: string; mark: Node[] } {
  const n = step?.hints ?? 0;
  if (n === 0) return { text: '', mark: [] };
  const text = `${n} hint${n === 1 ? '' : 's'} used`;
  return {
    text,
    mark: [attrs(el('span', { className: 'hints-used' }, `💡${n}`), { 'aria-hidden': 'true' }), el('span', { className: 'visually-hidden' }, ` ${text}`)],
  };
}

/** One learner's state on one step; the symbols carry the meaning, the colours only repeat it. */
function stepCell(learner: LearnerView, name: string, def: { id: string; title: string }, step: LearnerStep | undefined): HTMLTableCellElement {
  const state = step?.passed ? 'passed' : step && step.failures > 0 ? 'failed' : 'none';
  const td = el('td', { className: `step ${state}` });
  td.dataset.step = def.id;
  td.dataset.state = state;
  const hints = hintsUsed(step);
  if (hints.text) td.dataset.hints = String(step?.hints);
  if (!step || state === 'none') {
    // Hints but no check yet: the learner is at work on the challenge, which the instructor wants to see.
    td.append(
      attrs(el('span', {}, '·'), { 'aria-hidden': 'true' }),
      el('span', { className: 'visually-hidden' }, hints.text ? 'not checked yet' : 'not tried'),
      ...hints.mark,
    );
    if (hints.text) td.title = `${def.title}: not checked yet; ${hints.text}`;
    return td;
  }
  const failures = `failed ${step.failures} time${step.failures === 1 ? '' : 's'}`;
  const detail =
    (state === 'passed'
      ? `${def.title}: passed at ${clockTime(step.passedAt ?? 0)}${step.failures > 0 ? `, then ${failures} since; last: ${step.lastMessage ?? ''}` : ''}`
      : `${def.title}: ${failures}; last: ${step.lastMessage ?? 'no message'}`) + (hints.text ? `; ${hints.text}` : '');
  td.title = detail;
  const text = state === 'passed' ? `✓ ${clockTime(step.passedAt ?? 0)}${step.failures > 0 ? ` ✗${step.failures}` : ''}` : `✗ ${step.failures}`;
  if (step.failures === 0) {
    td.append(text, ...hints.mark);
    return td;
  }
  // What is not on screen (the failure message) must be reachable by keyboard: a focusable control that shows it.
  const reveal = attrs(el('button', { type: 'button', className: 'cell-button' }, text, ...hints.mark), { 'aria-label': `${name}, ${detail}` });
  reveal.dataset.key = `${learner.sessionId}:step:${def.id}`;
  reveal.dataset.detail = `${name} · ${detail}`;
  td.append(reveal);
  return td;
}

const detailHint = cellDetail.textContent ?? '';
function hideDetail(): void {
  cellDetail.textContent = detailHint;
  cellDetail.classList.remove('shown');
}

const showDetail = (target: EventTarget | null) => {
  if (!(target instanceof HTMLElement && target.dataset.detail)) return;
  cellDetail.textContent = target.dataset.detail;
  cellDetail.classList.add('shown');
};
grid.addEventListener('focusin', (event) => showDetail(event.target));
grid.addEventListener('click', (event) => showDetail((event.target as HTMLElement).closest('button')));

hideNames.checked = sessionStorage.getItem(HIDE_NAMES_KEY) === 'true';
hideNames.addEventListener('change', () => {
  sessionStorage.setItem(HIDE_NAMES_KEY, String(hideNames.checked));
  hideDetail();
  if (view) render(view);
});

// ---- actions ------------------------------------------------------------------------------------

function say(text: string, error = false): void {
  wsMessage.className = `message${error ? ' error' : ''}`;
  wsMessage.textContent = text;
}

$('ws-results').addEventListener('click', () => {
  const id = selectedId;
  if (!id) return;
  api
    .results(secret, id)
    .then(({ blob, filename }) => {
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: filename });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      say(`Downloaded ${filename}.`);
    })
    .catch((e: unknown) => say(`Could not download the results: ${explain(e)}`, true));
});

$('ws-end').addEventListener('click', () => {
  const v = view;
  if (!v) return;
  if (!confirm(`End "${v.title}" now? Every learner's containers are removed. Download the results first: they are gone once it ends.`)) return;
  say('Ending the workshop…');
  api
    .endWorkshop(secret, v.id)
    .then(() => ended(`The workshop "${v.title}" has ended.`))
    .catch((e: unknown) => say(`Could not end the workshop: ${explain(e)}`, true));
});

let resetting: { sessionId: string; name: string } | undefined;

function resetLearner(sessionId: string, name: string): void {
  resetting = { sessionId, name };
  $('reset-name').textContent = name;
  $<HTMLInputElement>('reset-keep').checked = true;
  resetDialog.returnValue = '';
  resetDialog.showModal();
}

resetDialog.addEventListener('close', () => {
  const target = resetting;
  const id = selectedId;
  resetting = undefined;
  if (resetDialog.returnValue !== 'reset' || !target || !id) return;
  const keep = $<HTMLInputElement>('reset-keep').checked;
  say(`Resetting the environment of ${target.name}…`);
  api
    .resetLearner(secret, id, target.sessionId, keep)
    .then(() => say(`${target.name} has a fresh environment${keep ? ', with their passed steps kept' : ' and starts again at step 1'}.`))
    .catch((e: unknown) => say(`Could not reset ${target.name}: ${explain(e)}`, true));
});

async function removeLearner(sessionId: string, name: string): Promise<void> {
  const id = selectedId;
  if (!id || !confirm(`Remove ${name} from the workshop? Their containers are deleted and their seat is freed.`)) return;
  say(`Removing ${name}…`);
  try {
    await api.removeLearner(secret, id, sessionId);
    say(`${name} was removed.`);
    if (mirror?.sessionId === sessionId) closeMirror();
  } catch (e) {
    say(`Could not remove ${name}: ${explain(e)}`, true);
  }
}

// ---- the read-only mirror -----------------------------------------------------------------------

let mirror: { sessionId: string; connection: TerminalConnection; term: Terminal; observer: ResizeObserver } | undefined;

/** Opens a read-only copy of a learner's terminal: the socket gets no input, and the terminal takes none. */
function watch(sessionId: string): void {
  const id = selectedId;
  if (!id) return;
  closeMirror();
  mirrorPanel.hidden = false;
  mirrorName.textContent = view ? (shownNames(view.learners).find((n) => n.learner.sessionId === sessionId)?.name ?? '') : '';
  const term = new Terminal({ disableStdin: true, cursorBlink: false, fontSize: 13, scrollback: 5000, theme: { background: '#1e1e1e' } });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(mirrorBox);
  const open = async (): Promise<string> => {
    try {
      const { ticket } = await api.mirrorTicket(secret, id, sessionId);
      return api.mirrorSocketUrl(id, sessionId, ticket);
    } catch (e) {
      throw new OpenError((e as Error).message, e instanceof ApiCallError && [403, 404, 410].includes(e.status));
    }
  };
  const connection = new TerminalConnection(open, {
    output: (data, drawn) => term.write(data, drawn),
    gap: (lost) => {
      term.reset();
      term.write(`\x1b[33m[${lost} characters of output were dropped]\x1b[0m\r\n`);
    },
    newTerminal: (reason) => {
      term.reset();
      term.write(`\x1b[33m[${reason === 'reset' ? "a new shell in the learner's fresh environment" : 'the lab server restarted: a new shell'}]\x1b[0m\r\n`);
    },
    state: (s: ConnectionState, detail?: string) => {
      mirrorState.dataset.state = s;
      mirrorState.textContent =
        { connecting: 'connecting…', connected: 'watching', reconnecting: 'reconnecting…', gone: 'session ended' }[s] + (detail ? ` (${detail})` : '');
      if (s === 'gone') term.write(`\r\n\x1b[31m[${detail ?? 'the session has ended'}]\x1b[0m\r\n`);
    },
    // Notices are for the learner; a mirror never gets them.
    notice: () => undefined,
  });
  const refit = () => {
    try {
      fit.fit();
    } catch {
      // Hidden or zero-sized for a moment while the layout settles.
    }
  };
  const observer = new ResizeObserver(refit);
  observer.observe(mirrorBox);
  refit();
  mirror = { sessionId, connection, term, observer };
  mirrorPanel.scrollIntoView({ block: 'nearest' });
  $('mirror-heading').focus();
}

function closeMirror(): void {
  if (!mirror) return;
  const { sessionId, connection, term, observer } = mirror;
  mirror = undefined;
  observer.disconnect();
  connection.close();
  term.dispose();
  mirrorBox.replaceChildren();
  mirrorPanel.hidden = true;
  document.querySelector<HTMLElement>(`[data-key="${CSS.escape(`${sessionId}:Watch`)}"]`)?.focus();
}
$('mirror-close').addEventListener('click', closeMirror);

// ---- start --------------------------------------------------------------------------------------

setInterval(() => {
  if (!secret || dashboard.hidden) return;
  scheduleRefresh();
  void refreshList();
}, POLL_MS);

void signIn();
