/**
 * A learner meets a challenge in a real browser: the landing page says how long the lab takes and
 * that it has a challenge; the step is marked as one, offers no solution, reveals its hints one at
 * a time (and keeps them across a reload), shows a hint's command without a Run button, and
 * passes once the learner has typed the answer themselves. The fixture lab runs on a stock
 * Debian image: no IPVS needed.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ChallengeHints, SessionState } from '../../common/api.js';
import { PROJECT_ROOT } from '../../server/src/config.js';
import { apiClient } from '../utils/api.js';
import { browserSkipReason, launchBrowser, pressCheck, screenLines } from '../utils/browser.js';
import { engineSkipReason } from '../utils/engine.js';
import { startLabServer, type RunningLabServer } from '../utils/lab-server.js';

const skip = (await engineSkipReason()) || browserSkipReason();
const LABS = path.join(PROJECT_ROOT, 'test', 'fixtures', 'labs-challenge');

/** Types `command` into the terminal and waits for the prompt to come back after it. */
async function typeCommand(page: Page, command: string, timeoutMs = 30_000): Promise<void> {
  await page.click('#terminal');
  const before = (await screenLines(page)).join('\n');
  await page.keyboard.type(`${command}\n`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = await screenLines(page);
    const commandRow = lines.findLastIndex((l) => l.includes(command));
    const last = lines.findLastIndex((l) => l !== '');
    if (lines.join('\n') !== before && commandRow >= 0 && last > commandRow && /^root@host:\S*# $/.test(`${lines[last]} `)) return;
    if (Date.now() > deadline) throw new Error(`"${command}" did not finish within ${timeoutMs} ms; screen:\n${lines.filter(Boolean).join('\n')}`);
    await page.waitForTimeout(100);
  }
}

const check = (page: Page) => pressCheck(page);

const hintButton = '#step button.show-hint';

describe('a learner meets a challenge in the browser', { skip }, () => {
  let lab: RunningLabServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let session = { id: '', token: '' };

  before(async () => {
    lab = await startLabServer({ labsDir: LABS, requireIpvs: false });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  after(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it('lists the lab with its duration and its challenge', async () => {
    await page.goto(lab.baseUrl);
    const card = page.locator('.lab-card', { has: page.locator('button.start[data-lab="challenge-lab"]') });
    await card.waitFor();
    assert.equal(await card.locator('.meta').textContent(), '2 steps · about 5 min · includes a challenge');
  });

  it('starts the lab and marks the challenge step in the step list', async () => {
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('button.start')!.disabled);
    await page.click('button.start[data-lab="challenge-lab"]');
    await page.waitForURL(/\/s\/[0-9a-f]+$/, { timeout: 120_000 });
    await page.waitForSelector('#terminal-state[data-state="connected"]', { timeout: 60_000 });
    const id = new URL(page.url()).pathname.split('/')[2]!;
    session = { id, token: (await page.evaluate((key) => localStorage.getItem(key), `ipvs-lab:${id}:token`)) ?? '' };
    assert.ok(session.token, 'the page kept the token');
    assert.equal(await page.getAttribute('#step', 'data-step'), 'intro');
    assert.equal(await page.locator('#step .challenge-badge').count(), 0, 'a plain step is no challenge');
    assert.equal(await page.locator('#progress button[data-step="intro"] .challenge-mark').count(), 0);
    const goal = page.locator('#progress button[data-step="goal"]');
    assert.equal(await goal.locator('.challenge-mark').count(), 1);
    // In words too, for screen readers and for anyone who does not see the mark.
    assert.match((await goal.textContent()) ?? '', /\(challenge\)/);
    assert.match((await goal.getAttribute('title')) ?? '', /\(challenge\)/);
  });

  it('shows the challenge with its badge, no solution and both hints still hidden', async () => {
    await page.click('#next');
    assert.equal(await page.getAttribute('#step', 'data-step'), 'goal');
    assert.equal(await page.locator('#step h1 .challenge-badge').textContent(), 'Challenge');
    assert.equal(await page.locator('#step details.solution').count(), 0);
    assert.ok(!((await page.textContent('#step')) ?? '').includes('Show solution'));
    assert.equal(await page.locator('#step .command, #step button.run').count(), 0, 'a challenge gives no commands to run');
    assert.equal(await page.locator('#step .hint-list > li').count(), 0);
    assert.equal(await page.textContent(hintButton), 'Show a hint (2 of 2 left)');
    assert.equal(await page.getAttribute('#step .hint-list', 'aria-live'), 'polite');
  });

  it('never sends the answer to the page', async () => {
    const r = await apiClient(lab.baseUrl).call<SessionState>('GET', `/api/sessions/${session.id}`, session.token);
    assert.equal(r.status, 200);
    const goal = r.body.steps.find((s) => s.id === 'goal')!;
    assert.deepEqual(goal.solution, []);
    assert.deepEqual(goal.challenge, { hints: 2, revealed: [] });
    assert.equal(r.body.steps.find((s) => s.id === 'intro')!.challenge, undefined);
  });

  it('says why when a hint cannot be had, and keeps the button', async () => {
    await page.route('**/steps/goal/hints', (route) =>
      route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: 'the lab server is busy' }) }),
    );
    await page.click(hintButton);
    await page.waitForFunction(() => document.querySelector('#step .hint-error')?.textContent !== '');
    assert.equal(await page.textContent('#step .hint-error'), 'Could not show a hint: the lab server is busy');
    assert.equal(await page.locator('#step .hint-list > li').count(), 0);
    assert.equal(await page.textContent(hintButton), 'Show a hint (2 of 2 left)');
    await page.unroute('**/steps/goal/hints');
  });

  it('reveals the first hint from the keyboard, keeping the focus on the button', async () => {
    await page.focus(hintButton);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#step .hint-list > li');
    const first = page.locator('#step .hint-list > li').first();
    assert.equal(await first.locator('.hint-label').textContent(), 'Hint 1');
    assert.match((await first.textContent()) ?? '', /command whose job is to create empty files/);
    assert.ok(await first.isVisible());
    assert.equal(await page.textContent(hintButton), 'Show a hint (1 of 2 left)');
    assert.equal(await page.textContent('#step .hint-error'), '', 'the earlier error is gone');
    assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('show-hint')), true);
  });

  it('still shows the revealed hint after a reload', async () => {
    await page.reload();
    await page.waitForSelector('#step .hint-list > li');
    assert.equal(await page.getAttribute('#step', 'data-step'), 'goal');
    assert.equal(await page.locator('#step .hint-list > li').count(), 1);
    assert.equal(await page.locator('#step .hint-label').textContent(), 'Hint 1');
    assert.equal(await page.textContent(hintButton), 'Show a hint (1 of 2 left)');
  });

  it('reveals the last hint, whose command has no Run button', async () => {
    await page.click(hintButton);
    await page.waitForFunction(() => document.querySelectorAll('#step .hint-list > li').length === 2);
    const second = page.locator('#step .hint-list > li').nth(1);
    assert.equal(await second.locator('.hint-label').textContent(), 'Hint 2');
    assert.equal((await second.locator('pre code').textContent())?.trim(), 'touch /tmp/goal');
    assert.equal(await second.locator('.command, button').count(), 0, 'no Copy or Run button in a hint');
    assert.equal(await page.locator(hintButton).count(), 0);
    assert.equal(await page.textContent('#step .hints-done'), 'All 2 hints shown');
    // The button is gone: the focus moves to the line that replaced it, not to the page's start.
    assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('hints-done')), true);
    // Asking again after the last changes nothing.
    const again = await apiClient(lab.baseUrl).call<ChallengeHints>('POST', `/api/sessions/${session.id}/steps/goal/hints`, session.token);
    assert.equal(again.status, 200);
    assert.equal(again.body.revealed.length, 2);
  });

  it('passes once the learner has typed the answer', async () => {
    const before = await check(page);
    assert.equal(before.passed, false);
    assert.equal(before.text, '✗ /tmp/goal does not exist yet in host');
    await page.waitForFunction(() => document.querySelector('.xterm-rows')?.textContent?.includes('root@host'));
    await typeCommand(page, 'touch /tmp/goal');
    const after = await check(page);
    assert.equal(after.passed, true, after.text);
    assert.equal(await page.locator('#progress button[data-step="goal"].passed').count(), 1);
    assert.deepEqual(pageErrors, []);
  });
});
