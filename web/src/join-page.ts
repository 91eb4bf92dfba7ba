import type { WorkshopJoined, WorkshopPublic } from '../../common/api.js';
import { api, ApiCallError } from './api-client.js';
import { attrs, clockTime, el } from './dom.js';

/** What the browser keeps of a join, so the same learner comes back to the same lab. */
interface StoredJoin {
  readonly sessionId: string;
  readonly token: string;
  readonly name: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const heading = $<HTMLHeadingElement>('workshop-title');
const facts = $<HTMLDListElement>('workshop-facts');
const form = $<HTMLFormElement>('join-form');
const nameInput = $<HTMLInputElement>('name');
const joinButton = $<HTMLButtonElement>('join');
const message = $<HTMLParagraphElement>('message');

const typedCode = decodeURIComponent(location.pathname.split('/')[2] ?? '')
  .replace(/[\s-]/g, '')
  .toUpperCase();
const storageKey = (code: string) => `ipvs-lab:workshop:${code}`;

function say(text: string, kind: 'info' | 'error' | 'progress' = 'info', ...extra: (Node | string)[]): void {
  message.className = `message ${kind}`;
  message.replaceChildren(text, ...extra);
}

function readStored(code: string): StoredJoin | undefined {
  try {
    const value = JSON.parse(localStorage.getItem(storageKey(code)) ?? 'null') as Partial<StoredJoin> | null;
    if (typeof value?.sessionId === 'string' && typeof value.token === 'string' && typeof value.name === 'string')
      return { sessionId: value.sessionId, token: value.token, name: value.name };
  } catch {
    // Unreadable: as if there were none.
  }
  return undefined;
}

function showWorkshop(w: WorkshopPublic): void {
  document.title = `${w.title} · ipvs-lab`;
  heading.textContent = w.title;
  $('lab-title').textContent = w.labTitle;
  $('seats').textContent = `${w.taken} of ${w.seats} taken${w.taken >= w.seats ? ' (full)' : ''}`;
  for (const node of facts.querySelectorAll<HTMLElement>('.ends')) node.hidden = w.endsAt === undefined;
  if (w.endsAt !== undefined) $('ends').textContent = clockTime(w.endsAt);
  facts.hidden = false;
}

/** Joins (or comes back, with the token of an earlier join) and opens the lab; returns only on failure. */
async function join(code: string, name: string, token?: string): Promise<void> {
  joinButton.disabled = true;
  nameInput.readOnly = true;
  const started = Date.now();
  const doing = token ? `Welcome back, ${name}: opening your lab…` : 'Starting your lab… this takes a few seconds';
  // The seconds count up quietly: the region announces what is happening once.
  const seconds = attrs(el('span', { className: 'elapsed' }), { 'aria-live': 'off' });
  const tick = () => (seconds.textContent = ` (${Math.round((Date.now() - started) / 1000)} s)`);
  tick();
  say(doing, 'progress', seconds);
  const timer = setInterval(tick, 1000);
  try {
    const joined: WorkshopJoined = await api.joinWorkshop(code, name, token);
    const stored: StoredJoin = { sessionId: joined.id, token: joined.token, name };
    localStorage.setItem(storageKey(code), JSON.stringify(stored));
    location.assign(joined.url);
  } finally {
    clearInterval(timer);
  }
}

function showForm(name = ''): void {
  form.hidden = false;
  joinButton.disabled = false;
  nameInput.readOnly = false;
  if (name) nameInput.value = name;
  nameInput.focus();
}

function failure(e: unknown): string {
  if (!(e instanceof ApiCallError)) return `The lab server does not answer: ${(e as Error).message}`;
  return `${e.message.charAt(0).toUpperCase()}${e.message.slice(1)}`;
}

async function main(): Promise<void> {
  let workshop: WorkshopPublic;
  try {
    workshop = await api.workshopByCode(typedCode);
  } catch (e) {
    heading.textContent = 'No such workshop';
    if (e instanceof ApiCallError && e.status === 404) localStorage.removeItem(storageKey(typedCode));
    say(`${failure(e)}. `, 'error', el('a', { href: '/' }, 'Type another code'));
    return;
  }
  const code = workshop.code;
  showWorkshop(workshop);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!name) {
      say('Type a name first: your instructor sees it next to your progress.', 'error');
      nameInput.focus();
      return;
    }
    join(code, name).catch((e: unknown) => {
      say(failure(e), 'error');
      showForm();
    });
  });

  const stored = readStored(code);
  if (!stored) {
    say(workshop.taken >= workshop.seats ? 'Every seat is taken: ask your instructor for one.' : '', workshop.taken >= workshop.seats ? 'error' : 'info');
    showForm();
    return;
  }
  try {
    await join(code, stored.name, stored.token);
  } catch (e) {
    // The lab kept for this browser is gone for good (the name went to someone else, say): start afresh.
    if (e instanceof ApiCallError && (e.status === 404 || e.status === 409)) localStorage.removeItem(storageKey(code));
    say(`Could not bring back your lab as ${stored.name}: ${failure(e)}`, 'error');
    showForm(stored.name);
  }
}

void main();
