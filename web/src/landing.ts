import type { LabSummary, ServerStatus } from '../../common/api.js';
import { api } from './api-client.js';
import { el } from './dom.js';

const statusBox = document.getElementById('status')!;
const labsBox = document.getElementById('labs')!;
const workshopOnly = document.getElementById('workshop-only')!;
const joinForm = document.getElementById('join-form') as HTMLFormElement;
const joinCode = document.getElementById('join-code') as HTMLInputElement;
const joinError = document.getElementById('join-error')!;

let status: ServerStatus | undefined;

function renderStatus(s: ServerStatus): void {
  statusBox.dataset.state = s.state;
  statusBox.replaceChildren();
  if (s.state === 'ready') {
    if (s.engine?.ipvs === false) {
      statusBox.dataset.state = 'starting';
      statusBox.append(
        el('strong', {}, 'No IPVS on this Docker engine. '),
        'Shells and pages work, but the checks of IPVS steps will fail (the server runs with IPVS_LAB_REQUIRE_IPVS=false).',
      );
    }
    return;
  }
  statusBox.append(el('strong', {}, s.state === 'failed' ? 'The lab server cannot start sessions. ' : 'Preparing the lab server… '), s.message);
  if (s.state === 'starting' && s.progress.length > 1) statusBox.append(el('ul', {}, ...s.progress.slice(-6).map((p) => el('li', {}, p))));
}

async function pollStatus(): Promise<void> {
  try {
    status = await api.status();
    renderStatus(status);
  } catch (e) {
    statusBox.dataset.state = 'failed';
    statusBox.textContent = `The lab server does not answer: ${(e as Error).message}`;
  }
  for (const b of labsBox.querySelectorAll<HTMLButtonElement>('button.start')) if (!b.dataset.busy) b.disabled = status?.state !== 'ready';
  applyOpenSessions();
  if (status?.state !== 'ready') setTimeout(() => void pollStatus(), 1000);
}

/** A server that starts labs only for workshop learners gets no start buttons: they would be refused. */
function applyOpenSessions(): void {
  const closed = status?.openSessions === false;
  workshopOnly.hidden = !closed;
  for (const b of labsBox.querySelectorAll<HTMLButtonElement>('button.start')) b.hidden = closed;
}

// Codes are read off a projector: upper-case them as typed, keeping the caret where it was.
joinCode.addEventListener('input', () => {
  const { selectionStart, selectionEnd } = joinCode;
  joinCode.value = joinCode.value.toUpperCase();
  joinCode.setSelectionRange(selectionStart, selectionEnd);
  joinError.textContent = '';
});
joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const code = joinCode.value.replace(/[\s-]/g, '').toUpperCase();
  if (!/^[A-Z0-9]{4,9}$/.test(code)) {
    joinError.textContent = 'Type the code your instructor gave you: six letters and digits, such as K7QM2X.';
    joinCode.setAttribute('aria-invalid', 'true');
    joinCode.focus();
    return;
  }
  joinCode.removeAttribute('aria-invalid');
  location.assign(`/join/${encodeURIComponent(code)}`);
});

async function start(lab: LabSummary, button: HTMLButtonElement, note: HTMLElement): Promise<void> {
  button.disabled = true;
  button.dataset.busy = '1';
  const started = Date.now();
  const tick = () => {
    note.className = 'starting';
    note.textContent = `Starting your containers (${lab.hosts.join(', ')}) and your shell… ${Math.round((Date.now() - started) / 1000)} s`;
  };
  tick();
  const timer = setInterval(tick, 1000);
  try {
    const session = await api.createSession(lab.id);
    location.assign(session.url);
  } catch (e) {
    note.className = 'error';
    note.textContent = `Could not start the lab: ${(e as Error).message}`;
    button.disabled = false;
    delete button.dataset.busy;
  } finally {
    clearInterval(timer);
  }
}

/** "7 steps · about 25 min · includes a challenge": what a learner weighs before starting. */
function labMeta(lab: LabSummary): HTMLParagraphElement {
  const parts = [el('span', { className: 'lab-steps' }, `${lab.steps} step${lab.steps === 1 ? '' : 's'}`)];
  if (lab.minutes !== undefined) parts.push(el('span', { className: 'lab-duration' }, `about ${lab.minutes} min`));
  if (lab.challenges > 0)
    parts.push(el('span', { className: 'lab-challenges' }, lab.challenges === 1 ? 'includes a challenge' : `${lab.challenges} challenges`));
  return el('p', { className: 'meta' }, ...parts.flatMap((part, i) => (i === 0 ? [part] : [' · ', part])));
}

async function main(): Promise<void> {
  void pollStatus();
  const labs = await api.labs();
  // In the server's order, which is the order a learner should take them in.
  labsBox.replaceChildren(
    ...labs.map((lab) => {
      const note = el('p', { className: 'note' });
      const button = el('button', { className: 'start primary', type: 'button', disabled: status?.state !== 'ready' }, 'Start this lab');
      button.dataset.lab = lab.id;
      button.addEventListener('click', () => void start(lab, button, note));
      return el('div', { className: 'lab-card' }, el('h2', {}, lab.title), el('p', {}, lab.summary), labMeta(lab), button, note);
    }),
  );
  applyOpenSessions();
}

main().catch((e: Error) => {
  labsBox.replaceChildren(el('p', { className: 'error' }, `Could not load the labs: ${e.message}`));
});
