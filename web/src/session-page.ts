import type { ChallengeHints, Chart, CheckResult, SessionState, SolutionLine, StepState } from '../../common/api.js';
import type { NoticeMessage } from '../../common/protocol.js';
import { api, ApiCallError } from './api-client.js';
import { chartSection } from './chart-view.js';
import { attrs, clockTime, copyText, el } from './dom.js';
import { HostTerminal, stateText, type HostTerminalEvents } from './host-terminal.js';
import { IpvsPanel } from './panel/ipvs-panel.js';
import { OpenError } from './terminal-connection.js';

const sessionId = decodeURIComponent(location.pathname.split('/')[2] ?? '');
const stepKey = `ipvs-lab:${sessionId}:step`;
const tokenKey = `ipvs-lab:${sessionId}:token`;

/**
 * The session's link carries its token once; the page keeps it (so a reload or a reopened tab
 * finds the session) and takes it out of the address bar, where screenshots, shoulder surfers
 * and browser history would see it.
 */
function takeToken(): string {
  const fromLink = new URLSearchParams(location.search).get('token');
  if (fromLink) {
    localStorage.setItem(tokenKey, fromLink);
    history.replaceState(history.state, '', location.pathname + location.hash);
    return fromLink;
  }
  return localStorage.getItem(tokenKey) ?? '';
}
const token = takeToken();

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const stepBox = $<HTMLElement>('step');
const progressList = $<HTMLOListElement>('progress');
const progressText = $<HTMLSpanElement>('progress-text');
const resultBox = $<HTMLDivElement>('check-result');
const checkButton = $<HTMLButtonElement>('check');
const prevButton = $<HTMLButtonElement>('prev');
const nextButton = $<HTMLButtonElement>('next');
const terminalState = $<HTMLSpanElement>('terminal-state');
const workshopInfo = $<HTMLSpanElement>('workshop-info');
const noticeBox = $<HTMLDivElement>('notice');
const alertBox = $<HTMLDivElement>('notice-alert');

let state: SessionState;
let current = 0;
/** The last check result per step, so moving between steps keeps what the learner saw. */
const results = new Map<string, CheckResult>();
/**
 * The last chart a check of each step drew (the learner's measurements): a new one replaces it, a
 * failed check (a file half rewritten) leaves it. The server keeps none: a reload starts without.
 */
const charts = new Map<string, Chart>();
/** The message of the last reset notice: the new terminal that follows the reset shows it too. */
let lastReset: string | undefined;
/** Notices the learner put away; the server repeats standing notices to each new connection. */
const dismissed = new Set<string>();
const noticeKey = (n: NoticeMessage) => `${n.kind}|${n.at ?? ''}|${n.message}`;
let noticeTimer: ReturnType<typeof setInterval> | undefined;

// ---- terminals ----------------------------------------------------------------------------------

/**
 * The learner's terminals, one per host of `state.terminals`, the main one first. The main one
 * connects at once (without `?host=`, the server's main terminal) in `#terminal`; the others are
 * added once the session says which there are, each in a tab of its own.
 */
const terminals: HostTerminal[] = [];
/** The terminal on screen (assigned with the main one, below). */
let selected!: HostTerminal;
const terminalPane = $<HTMLElement>('terminal-pane');
const terminalLabel = $<HTMLSpanElement>('terminal-label');

/** A fresh one-use ticket per connection; a session that is gone says why, and retrying stops. */
async function openTerminal(host?: string): Promise<string> {
  try {
    const { ticket } = await api.ticket(sessionId, token);
    const query = `ticket=${encodeURIComponent(ticket)}${host === undefined ? '' : `&host=${encodeURIComponent(host)}`}`;
    return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/sessions/${encodeURIComponent(sessionId)}/terminal?${query}`;
  } catch (e) {
    const gone = e instanceof ApiCallError && [403, 404, 410].includes(e.status);
    throw new OpenError((e as Error).message, gone);
  }
}

/** A reset replaces every terminal at once; the page reloads its state once for all of them. */
let reloadTimer: ReturnType<typeof setTimeout> | undefined;

const terminalEvents: HostTerminalEvents = {
  newTerminal: (terminal, reason) => {
    if (reason === 'reset') {
      const message = lastReset ?? 'Your instructor gave you a fresh environment: new containers.';
      terminal.term.write(`\x1b[33m[${message}]\x1b[0m\r\n`);
      showNotice({ type: 'notice', kind: 'reset', message }, true);
      reloadTimer ??= setTimeout(() => {
        reloadTimer = undefined;
        void reloadState();
      }, 50);
    } else {
      terminal.term.write(
        '\x1b[33m[the lab server restarted: this is a new shell in the same container; your work and progress are as you left them]\x1b[0m\r\n',
      );
    }
  },
  notice: (notice) => showNotice(notice),
  state: () => renderTerminalStates(),
  // Typing is activity: the idle warning has done its job.
  input: () => {
    if (noticeBox.dataset.kind === 'idle-warning') clearNotice();
  },
};

const mainTerminal = new HostTerminal(undefined, { panel: $<HTMLDivElement>('terminal'), open: () => openTerminal(), events: terminalEvents });
terminals.push(mainTerminal);
selected = mainTerminal;
mainTerminal.show();
renderTerminalStates();

/** The terminal of `host`; the main one when the host is not named (or has no terminal). */
function terminalOf(host: string | undefined): HostTerminal {
  if (host === undefined) return mainTerminal;
  const found = terminals.find((t) => t.name === host);
  if (!found) console.warn(`no terminal in ${host}; using the main one (${mainTerminal.name ?? 'unknown'})`);
  return found ?? mainTerminal;
}

/** The tab of `t`'s host, when there are tabs. */
function tabOf(t: HostTerminal): HTMLButtonElement | null {
  return t.name === undefined ? null : terminalPane.querySelector<HTMLButtonElement>(`[role="tab"][data-host="${CSS.escape(t.name)}"]`);
}

/** The connection state of the terminal on screen, and a mark on each tab whose terminal is not connected. */
function renderTerminalStates(): void {
  // The main terminal reports its first state while it is being made, before it is selected.
  if (terminals.length === 0) return;
  terminalState.dataset.state = selected.state;
  if (selected.name !== undefined) terminalState.dataset.host = selected.name;
  terminalState.textContent = stateText(selected.state, selected.detail);
  for (const t of terminals) {
    const mark = tabOf(t)?.querySelector<HTMLElement>('.tab-state');
    if (!mark) continue;
    mark.dataset.state = t.state;
    mark.hidden = t.state === 'connected';
    mark.title = stateText(t.state, t.detail);
    mark.querySelector('.visually-hidden')!.textContent = mark.hidden ? '' : ` (${stateText(t.state)})`;
  }
}

/** Puts `t` on screen; `focus` says what gets the keyboard: its tab (arrow keys), its terminal, or nothing new. */
function selectTerminal(t: HostTerminal, focus: 'tab' | 'terminal' | 'none' = 'none'): void {
  selected = t;
  // Hide the others first: the shown panel then has the whole pane to be fitted to.
  for (const other of terminals) if (other !== t) other.hide();
  t.show();
  for (const other of terminals) {
    const tab = tabOf(other);
    if (!tab) continue;
    tab.setAttribute('aria-selected', String(other === t));
    tab.tabIndex = other === t ? 0 : -1;
  }
  renderTerminalStates();
  if (focus === 'tab') tabOf(t)?.focus();
  else if (focus === 'terminal') t.focus();
}

/**
 * Once the session names its terminals: with several, a tab per host above the terminal area
 * (an ARIA tablist: arrow keys, Home and End move between tabs), and a terminal and a connection
 * per host, connected now so their output is kept while their tab is hidden. With one, nothing
 * changes on screen.
 */
function setUpTerminals(hosts: readonly string[]): void {
  if (terminals.length > 1 || hosts.length === 0) return;
  mainTerminal.name = hosts[0];
  mainTerminal.panel.dataset.host = hosts[0]!;
  terminalLabel.textContent = `root@${hosts[0]}`;
  if (hosts.length === 1) return renderTerminalStates();

  const tablist = attrs(el('div', { className: 'terminal-tabs' }), { role: 'tablist', 'aria-label': 'Terminals' });
  hosts.forEach((host, i) => {
    const panel = i === 0 ? mainTerminal.panel : attrs(el('div', { className: 'terminal', id: `terminal-${i}`, hidden: true }), { 'data-host': host });
    if (i > 0) terminalPane.append(panel);
    // The name is the tab's label; a mark (and words for screen readers) only while it is not connected.
    const mark = el('span', { className: 'tab-state', hidden: true }, el('span', { className: 'visually-hidden' }));
    const tab = attrs(
      el(
        'button',
        { type: 'button', className: 'terminal-tab', id: `terminal-tab-${i}`, tabIndex: i === 0 ? 0 : -1 },
        el('span', { className: 'tab-name' }, host),
        mark,
      ),
      { role: 'tab', 'data-host': host, 'aria-selected': String(i === 0), 'aria-controls': panel.id },
    );
    attrs(panel, { role: 'tabpanel', 'aria-labelledby': tab.id });
    tablist.append(tab);
    if (i > 0)
      terminals.push(
        new HostTerminal(host, {
          panel,
          open: () => openTerminal(host),
          size: { cols: mainTerminal.term.cols, rows: mainTerminal.term.rows },
          events: terminalEvents,
        }),
      );
  });
  tablist.addEventListener('click', (event) => {
    const tab = (event.target as HTMLElement).closest<HTMLElement>('[role="tab"]');
    if (tab) selectTerminal(terminalOf(tab.dataset.host), 'terminal');
  });
  tablist.addEventListener('keydown', (event) => {
    const at = terminals.indexOf(selected);
    const moves = new Map([
      ['ArrowRight', at + 1],
      ['ArrowLeft', at - 1],
      ['Home', 0],
      ['End', terminals.length - 1],
    ]);
    const to = moves.get(event.key);
    if (to === undefined) return;
    event.preventDefault();
    selectTerminal(terminals[(to + terminals.length) % terminals.length]!, 'tab');
  });
  terminalLabel.replaceWith(tablist);
  renderTerminalStates();
}

// ---- challenges ---------------------------------------------------------------------------------

/** The "Challenge" label, in the step's heading when it has one: the learner must know no commands are coming. */
function markChallenge(): void {
  const badge = el('span', { className: 'challenge-badge' }, 'Challenge');
  const heading = stepBox.querySelector('h1, h2');
  if (heading) heading.append(' ', badge);
  else stepBox.prepend(el('p', {}, badge));
}

/** One revealed hint; its HTML was rendered by the server from the lab's markdown, raw HTML disabled. */
function hintItem(html: string, index: number): HTMLLIElement {
  const body = el('div', { className: 'hint-body' });
  body.innerHTML = html;
  return el('li', { className: 'hint-item' }, el('strong', { className: 'hint-label' }, `Hint ${index + 1}`), body);
}

/** What sits under the hints: the button for the next one, or, once all are out, a line saying so. */
function hintControl(stepId: string, hints: ChallengeHints): HTMLElement {
  const left = hints.hints - hints.revealed.length;
  if (left <= 0)
    // Focusable from script only: the button the learner pressed is gone, and the focus lands here instead.
    return attrs(el('p', { className: 'hints-done', tabIndex: -1 }, hints.hints === 1 ? 'The hint is shown' : `All ${hints.hints} hints shown`), {
      'data-control': 'hints',
    });
  const button = attrs(el('button', { type: 'button', className: 'show-hint' }, `Show a hint (${left} of ${hints.hints} left)`), { 'data-control': 'hints' });
  button.addEventListener('click', () => void revealHint(stepId, button));
  return button;
}

/**
 * A challenge's hints: those revealed so far, in a list that announces the ones added later
 * (a polite live region, so a hint does not cut into what a screen reader is saying), and the
 * button for the next.
 */
function hintsBlock(step: StepState, hints: ChallengeHints): HTMLElement {
  const list = attrs(el('ol', { className: 'hint-list' }, ...hints.revealed.map(hintItem)), { 'aria-live': 'polite' });
  const error = attrs(el('p', { className: 'error hint-error' }), { 'aria-live': 'polite' });
  const intro = el(
    'p',
    { className: 'hints-intro' },
    'A challenge gives the goal, not the commands: Check tells you when you have reached it. Stuck? Hints come one at a time.',
  );
  const section = attrs(el('section', { className: 'hints' }, intro, list, error, hintControl(step.id, hints)), { 'aria-label': 'Hints' });
  section.dataset.step = step.id;
  return section;
}

/** The hints section of challenge step `stepId`, if that step is on screen. */
const shownHints = (stepId: string) => stepBox.querySelector<HTMLElement>(`section.hints[data-step="${CSS.escape(stepId)}"]`);

/** Asks for one more hint and adds what is new; the hints shown before stay put, so only the new one is announced. */
async function revealHint(stepId: string, button: HTMLButtonElement): Promise<void> {
  // aria-disabled rather than disabled: a disabled button drops the keyboard focus.
  if (button.getAttribute('aria-disabled') === 'true') return;
  button.setAttribute('aria-disabled', 'true');
  shownHints(stepId)?.querySelector('.hint-error')?.replaceChildren();
  try {
    const hints = await api.hint(sessionId, token, stepId);
    state = { ...state, steps: state.steps.map((s) => (s.id === stepId ? { ...s, challenge: hints } : s)) };
    // Looked up again: the learner may have left the step (and come back to a new section) meanwhile.
    const section = shownHints(stepId);
    if (!section) return;
    const list = section.querySelector('.hint-list')!;
    const had = list.children.length;
    list.append(...hints.revealed.slice(had).map((html, i) => hintItem(html, had + i)));
    const focused = document.activeElement === button;
    const control = hintControl(stepId, hints);
    section.querySelector('[data-control="hints"]')?.replaceWith(control);
    if (focused) control.focus();
  } catch (e) {
    const message = e instanceof ApiCallError && e.status === 410 ? `This session has ended: ${e.message}` : `Could not show a hint: ${(e as Error).message}`;
    shownHints(stepId)?.querySelector('.hint-error')?.replaceChildren(message);
    button.removeAttribute('aria-disabled');
  }
}

// ---- steps --------------------------------------------------------------------------------------

function showResult(result: CheckResult | undefined): void {
  if (!result) {
    resultBox.hidden = true;
    return;
  }
  resultBox.hidden = false;
  resultBox.className = `check-result ${result.passed ? 'passed' : 'failed'}`;
  resultBox.textContent = `${result.passed ? '✓' : '✗'} ${result.message}`;
  // The chart is drawn in the step's text, which may be scrolled elsewhere: a way there, for the keyboard too.
  if (result.chart) {
    const button = el('button', { type: 'button', className: 'show-chart' }, 'Show the chart');
    button.addEventListener('click', () => {
      const section = stepBox.querySelector<HTMLElement>('.check-chart');
      section?.scrollIntoView({ block: 'start' });
      section?.focus({ preventScroll: true });
    });
    resultBox.append(button);
  }
}

/**
 * Draws `chart` at the end of the step's text, in place of the one there (keeping its numbers
 * unfolded if they were); `reveal`: scrolls the step's text to it.
 */
function showChart(chart: Chart, reveal: boolean): void {
  const old = stepBox.querySelector<HTMLElement>('.check-chart');
  const section = chartSection(chart, old?.querySelector('details')?.open ?? false);
  if (old) old.replaceWith(section);
  else stepBox.append(section);
  if (reveal) section.scrollIntoView({ block: 'nearest' });
}

function renderProgress(): void {
  const done = state.steps.filter((s) => s.passed).length;
  progressText.textContent = `Step ${current + 1} of ${state.steps.length} · ${done} done`;
  progressList.replaceChildren(
    ...state.steps.map((s, i) => {
      const li = document.createElement('li');
      const b = el('button', { type: 'button', title: `${s.title}${s.challenge ? ' (challenge)' : ''}${s.passed ? ' (done)' : ''}` }, String(i + 1));
      b.dataset.step = s.id;
      // A mark of its own shape, and words for screen readers: the colour of a circle says "done" already.
      if (s.challenge)
        b.append(
          attrs(el('span', { className: 'challenge-mark' }, '★'), { 'aria-hidden': 'true' }),
          el('span', { className: 'visually-hidden' }, ' (challenge)'),
        );
      if (s.passed) b.classList.add('passed');
      if (i === current) b.setAttribute('aria-current', 'step');
      b.addEventListener('click', () => show(i));
      li.append(b);
      return li;
    }),
  );
}

/** With several terminals, a command block says whose it is (`client$`), and its Run button says so too. */
function markHost(block: HTMLElement, host: string): void {
  if (terminals.length < 2) return;
  block.querySelector('pre')?.prepend(el('span', { className: 'command-host', title: `Runs in ${host}'s terminal` }, `${host}$`), ' ');
  const run = block.querySelector<HTMLButtonElement>('button.run');
  if (run) run.title = `Type it into ${host}'s terminal and press Enter`;
}

/** The step's solution, folded away so it does not give itself away; same Copy and Run buttons as the text's commands. */
function solutionBlock(lines: readonly SolutionLine[]): HTMLElement {
  const details = document.createElement('details');
  details.className = 'solution';
  const summary = document.createElement('summary');
  summary.textContent = 'Show solution';
  details.append(summary);
  for (const line of lines) {
    const block = document.createElement('div');
    block.className = 'command';
    block.dataset.command = line.command;
    block.dataset.host = line.host;
    const pre = document.createElement('pre');
    pre.append(Object.assign(document.createElement('code'), { textContent: line.command }));
    const actions = document.createElement('div');
    actions.className = 'command-actions';
    for (const [cls, label] of [
      ['copy', 'Copy'],
      ['run', 'Run'],
    ] as const)
      actions.append(Object.assign(document.createElement('button'), { type: 'button', className: cls, textContent: label }));
    block.append(pre, actions);
    details.append(block);
  }
  return details;
}

function show(index: number): void {
  current = Math.max(0, Math.min(state.steps.length - 1, index));
  localStorage.setItem(stepKey, String(current));
  const step = state.steps[current]!;
  stepBox.innerHTML = step.html; // rendered by the server from the lab's markdown, raw HTML disabled
  if (step.challenge) {
    markChallenge();
    stepBox.append(hintsBlock(step, step.challenge));
  }
  // A challenge never has a solution (the server keeps it); an empty fold would promise one.
  else if (step.solution.length > 0) stepBox.append(solutionBlock(step.solution));
  // The text's and the solution's command blocks: a block without a host is for the main terminal.
  for (const block of stepBox.querySelectorAll<HTMLElement>('.command')) markHost(block, block.dataset.host ?? mainTerminal.name ?? '');
  const chart = charts.get(step.id);
  if (chart) showChart(chart, false);
  // A wide table of the lab's text scrolls in its own box, not the page, on a phone.
  for (const table of stepBox.querySelectorAll(':scope > table')) {
    const box = el('div', { className: 'table-scroll' });
    table.before(box);
    box.append(table);
  }
  stepBox.dataset.step = step.id;
  stepBox.scrollTop = 0;
  // On a narrow screen the page scrolls, not the step: Next pressed at the end of a long step must show the next one's start.
  if (stepBox.getBoundingClientRect().top < 0) stepBox.scrollIntoView({ block: 'start' });
  checkButton.textContent = step.hasCheck ? 'Check' : 'Mark as done';
  prevButton.disabled = current === 0;
  nextButton.disabled = current === state.steps.length - 1;
  showResult(results.get(step.id));
  renderProgress();
}

stepBox.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest('button');
  const block = button?.closest<HTMLElement>('.command');
  if (!button || !block) return;
  const command = block.dataset.command ?? '';
  if (button.classList.contains('run')) {
    // Into the block's host's terminal, its tab brought up first: each line as typed, each
    // followed by Enter (a carriage return, as a keyboard sends).
    const target = terminalOf(block.dataset.host);
    selectTerminal(target);
    target.send(command.split('\n').join('\r') + '\r');
    target.focus();
  } else if (button.classList.contains('copy')) {
    void copyText(command).then(() => {
      button.textContent = 'Copied';
      setTimeout(() => (button.textContent = 'Copy'), 1200);
    });
  }
});

async function runCheck(): Promise<void> {
  const step = state.steps[current]!;
  checkButton.disabled = true;
  resultBox.hidden = false;
  resultBox.className = 'check-result running';
  resultBox.textContent = 'Checking…';
  try {
    const result = await api.check(sessionId, token, step.id);
    results.set(step.id, result);
    if (result.chart) charts.set(step.id, result.chart);
    if (result.passed) state = { ...state, steps: state.steps.map((s) => (s.id === step.id ? { ...s, passed: true } : s)) };
    if (state.steps[current]?.id === step.id) {
      showResult(result);
      if (result.chart) showChart(result.chart, true);
    }
    renderProgress();
  } catch (e) {
    showResult({
      passed: false,
      message:
        e instanceof ApiCallError && [404, 410].includes(e.status)
          ? `This session has ended: ${e.message}`
          : `The check could not run: ${(e as Error).message}`,
    });
  } finally {
    checkButton.disabled = false;
  }
}
checkButton.addEventListener('click', () => void runCheck());
prevButton.addEventListener('click', () => show(current - 1));
nextButton.addEventListener('click', () => show(current + 1));

// ---- notices ------------------------------------------------------------------------------------

function clearNotice(): void {
  clearInterval(noticeTimer);
  noticeTimer = undefined;
  noticeBox.replaceChildren();
  delete noticeBox.dataset.kind;
  delete noticeBox.dataset.key;
}

function dismissButton(notice: NoticeMessage): HTMLButtonElement {
  const button = attrs(el('button', { type: 'button', className: 'dismiss' }, 'Dismiss'), { 'aria-label': 'Dismiss this notice' });
  button.addEventListener('click', () => {
    dismissed.add(noticeKey(notice));
    clearNotice();
    selected.focus();
  });
  return button;
}

/** Loading the session counts as activity, which is what the idle warning asks for. */
async function stillHere(button: HTMLButtonElement, text: HTMLElement): Promise<void> {
  button.disabled = true;
  try {
    await api.session(sessionId, token);
    clearNotice();
    selected.focus();
  } catch (e) {
    text.textContent = `Could not reach the lab server: ${(e as Error).message}`;
    button.disabled = false;
  }
}

function countdown(at: number): string {
  const s = Math.max(0, Math.round((at - Date.now()) / 1000));
  return s === 0 ? 'any moment now' : `in ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * Shows a notice in the banner under the header (`again`: a reset's new terminal has arrived, so
 * its notice is shown even if it was already). Removal and the workshop's end stay (in an
 * alert region, announced at once); the others replace one another and can be put away.
 */
function showNotice(notice: NoticeMessage, again = false): void {
  const key = noticeKey(notice);
  if (dismissed.has(key) && !again) return;
  // Each terminal's connection hears the session's notices: one banner for all of them.
  if (!again && (noticeBox.dataset.key === key || alertBox.dataset.key === key)) return;
  if (notice.kind === 'reset') {
    // The server repeats a reset notice to each new connection; one banner per reset is enough.
    if (notice.message === lastReset && (!again || noticeBox.dataset.kind === 'reset')) return;
    lastReset = notice.message;
  }
  if (notice.kind === 'removed' || notice.kind === 'workshop-ended') {
    clearNotice();
    alertBox.dataset.kind = notice.kind;
    alertBox.dataset.key = key;
    alertBox.replaceChildren(el('strong', {}, notice.kind === 'removed' ? 'Your lab was removed. ' : 'The workshop is over. '), notice.message);
    return;
  }
  // Once the session is gone, nothing else is worth saying.
  if (alertBox.dataset.kind) return;
  clearNotice();
  noticeBox.dataset.kind = notice.kind;
  noticeBox.dataset.key = key;
  const text = el('span', { className: 'notice-text' }, notice.message);
  switch (notice.kind) {
    case 'idle-warning': {
      const here = el('button', { type: 'button', className: 'primary' }, "I'm here");
      here.addEventListener('click', () => void stillHere(here, text));
      noticeBox.append(text);
      if (notice.at !== undefined) {
        const at = notice.at;
        // Each second's new value is not worth announcing: the region said it once.
        const clock = attrs(el('span', { className: 'countdown' }), { 'aria-live': 'off' });
        const tick = () => (clock.textContent = `Removal ${countdown(at)}.`);
        tick();
        noticeTimer = setInterval(tick, 1000);
        noticeBox.append(' ', clock);
      }
      noticeBox.append(here);
      break;
    }
    case 'workshop-ending':
      noticeBox.append(text);
      if (notice.at !== undefined) noticeBox.append(' ', el('strong', { className: 'countdown' }, `Ends at ${clockTime(notice.at)}.`));
      noticeBox.append(dismissButton(notice));
      break;
    case 'reset':
      noticeBox.append(text, dismissButton(notice));
      break;
  }
}

/** After a reset: the steps passed (kept or not) and the step's variables come from the new environment. */
async function reloadState(): Promise<void> {
  try {
    state = await api.session(sessionId, token);
    results.clear();
    charts.clear();
    show(current);
  } catch (e) {
    console.warn(`could not reload the session after a reset: ${(e as Error).message}`);
  }
}

function renderWorkshop(): void {
  const workshop = state.limits.workshop;
  if (!workshop) return;
  workshopInfo.replaceChildren(
    el('span', { className: 'workshop-title' }, workshop.title),
    ' · ',
    el('span', { className: 'learner-name' }, workshop.name),
    ...(workshop.endsAt === undefined ? [] : [' · ', el('span', {}, `ends at ${clockTime(workshop.endsAt)}`)]),
  );
  workshopInfo.title = `Workshop "${workshop.title}", joined as ${workshop.name}`;
  workshopInfo.hidden = false;
}

// ---- the live IPVS table -------------------------------------------------------------------------

let ipvsPanel: IpvsPanel | undefined;

/** The panel beside the terminal, and its toggle in the terminal's bar, for a lab that programs IPVS. */
function setUpIpvsPanel(host: string | undefined): void {
  if (host === undefined || ipvsPanel) return;
  const vip = state.variables.vip;
  ipvsPanel = new IpvsPanel({
    ...(vip === undefined ? {} : { vip }),
    section: $<HTMLElement>('ipvs-panel'),
    toggleParent: terminalPane.querySelector<HTMLElement>('.terminal-bar')!,
    layout: terminalPane.parentElement!,
    sessionId,
    token,
    host,
    storage: localStorage,
  });
}

async function main(): Promise<void> {
  if (!token)
    throw new Error('this page needs the link you got when the session started (it carries the session key); open that link again, or start a new session');
  state = await api.session(sessionId, token);
  document.title = `${state.labTitle} · ipvs-lab`;
  $<HTMLHeadingElement>('lab-title').textContent = state.labTitle;
  renderWorkshop();
  setUpTerminals(state.terminals);
  setUpIpvsPanel(state.ipvsHost);
  const saved = Number(localStorage.getItem(stepKey));
  show(Number.isInteger(saved) ? saved : 0);
}

main().catch((e: Error) => {
  stepBox.innerHTML = '';
  const p = document.createElement('p');
  p.className = 'error';
  p.textContent = `Could not load this session: ${e.message}`;
  stepBox.append(p);
});
