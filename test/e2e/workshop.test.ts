/**
 * A workshop in real browsers: an instructor's dashboard and two learners who join with the
 * link. A learner passes a step and the instructor's grid shows it without a reload; the
 * instructor watches a learner's terminal read-only, sees their typing, and cannot type into it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { WorkshopCreated } from '../../common/api.js';
import { apiClient } from '../utils/api.js';
import { browserSkipReason, launchBrowser } from '../utils/browser.js';
import { engineSkipReason } from '../utils/engine.js';
import { startLabServer, type RunningLabServer } from '../utils/lab-server.js';

const skip = (await engineSkipReason()) || browserSkipReason();
const SECRET = 'instructor-secret-for-e2e-0123456';

/** The visible lines of the xterm.js terminal inside `container`. */
async function screen(page: Page, container: string): Promise<string> {
  return page.$$eval(`${container} .xterm-rows > div`, (rows) => rows.map((r) => (r.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()).join('\n'));
}

async function waitForScreen(page: Page, container: string, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await screen(page, container);
    if (pattern.test(text)) return;
    if (Date.now() > deadline) throw new Error(`${container} never showed ${pattern}; screen:\n${text}`);
    await page.waitForTimeout(100);
  }
}

describe('a workshop in the browser', { skip }, () => {
  let lab: RunningLabServer;
  let browser: Browser;
  let workshop: WorkshopCreated;
  let instructor: Page;
  const learners: { page: Page; sessionId: string }[] = [];

  /** A learner in a browser of their own (own storage) joins with the link and a name. */
  async function joinAs(name: string): Promise<{ page: Page; sessionId: string }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(workshop.joinUrl);
    await page.fill('#name', name);
    await page.click('#join');
    await page.waitForURL(/\/s\/[0-9a-f]+$/, { timeout: 120_000 });
    await page.waitForSelector('#terminal-state[data-state="connected"]', { timeout: 60_000 });
    await waitForScreen(page, '#terminal', /root@host/);
    return { page, sessionId: new URL(page.url()).pathname.split('/')[2]! };
  }

  before(async () => {
    lab = await startLabServer({ requireIpvs: false, instructorToken: SECRET });
    const created = await apiClient(lab.baseUrl).call<WorkshopCreated>('POST', '/api/workshops', SECRET, {
      lab: 'ipvs-intro',
      title: 'Browser workshop',
      seats: 4,
    });
    assert.equal(created.status, 201);
    workshop = created.body;
    browser = await launchBrowser();
    instructor = await browser.newPage();
    const errors: string[] = [];
    instructor.on('pageerror', (e) => errors.push(e.message));
    await instructor.goto(`${lab.baseUrl}/instructor#secret=${SECRET}`);
    await instructor.click(`[data-workshop="${workshop.id}"]`);
    await instructor.waitForSelector('#grid thead th');
    assert.deepEqual(errors, []);
    assert.ok(!instructor.url().includes(SECRET), 'the secret leaves the address bar');
    learners.push(await joinAs('Ada'), await joinAs('Grace'));
  });
  after(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it('lists both learners, by name, as they join', async () => {
    for (const l of learners) await instructor.waitForSelector(`#grid tr[data-session="${l.sessionId}"]`, { timeout: 10_000 });
    const names = await instructor.$$eval('#grid tbody tr', (rows) => rows.map((r) => r.textContent ?? ''));
    assert.match(names[0]!, /Ada/);
    assert.match(names[1]!, /Grace/);
  });

  it("shows a learner's passed step in the instructor's grid live, without a reload", async () => {
    const [ada, grace] = learners;
    const navigations: string[] = [];
    instructor.on('framenavigated', (f) => navigations.push(f.url()));
    await ada!.page.click('#check');
    await ada!.page.waitForSelector('#check-result.passed', { timeout: 30_000 });
    await instructor.waitForSelector(`#grid tr[data-session="${ada!.sessionId}"] td[data-step="intro"][data-state="passed"]`, { timeout: 5_000 });
    const graceIntro = await instructor.getAttribute(`#grid tr[data-session="${grace!.sessionId}"] td[data-step="intro"]`, 'data-state');
    assert.equal(graceIntro, 'none');
    assert.deepEqual(navigations, [], 'the dashboard did not reload');
  });

  it("mirrors a learner's terminal read-only: the instructor sees the typing and cannot type", async () => {
    const [ada] = learners;
    await instructor.click(`#grid tr[data-session="${ada!.sessionId}"] button:has-text("Watch")`);
    await instructor.waitForSelector('#mirror .xterm-rows');
    await waitForScreen(instructor, '#mirror', /root@host/);
    await ada!.page.click('#terminal');
    await ada!.page.keyboard.type('echo mirrored-$((6*7))\n');
    await waitForScreen(instructor, '#mirror', /mirrored-42/);
    // The instructor types into the mirror: nothing reaches the learner's shell.
    await instructor.click('#mirror');
    await instructor.keyboard.type('echo from-instructor-$((2*21))\n');
    await ada!.page.keyboard.type('echo learner-again-$((1+1))\n');
    await waitForScreen(ada!.page, '#terminal', /learner-again-2/);
    await waitForScreen(instructor, '#mirror', /learner-again-2/);
    assert.doesNotMatch(await screen(ada!.page, '#terminal'), /from-instructor/);
    assert.doesNotMatch(await screen(instructor, '#mirror'), /from-instructor/);
  });
});
