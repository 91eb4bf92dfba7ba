/**
 * A lab with a terminal in each of two hosts, in a real browser: the page shows a tab per host
 * (an ARIA tablist, mouse and arrow keys), each tab a shell of its own host that keeps its
 * scrollback while hidden and is fitted when shown again; Run on a block meant for the client
 * types it into the client's terminal, switching tabs; a reload replays both terminals. A lab
 * with one terminal shows no tabs. The fixture labs run on a stock Debian image: no IPVS needed.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { SessionCreated, SessionState } from '../../common/api.js';
import { PROJECT_ROOT } from '../../server/src/config.js';
import { apiClient } from '../utils/api.js';
import { browserSkipReason, launchBrowser, pressCheck } from '../utils/browser.js';
import { engineSkipReason } from '../utils/engine.js';
import { startLabServer, type RunningLabServer } from '../utils/lab-server.js';

const skip = (await engineSkipReason()) || browserSkipReason();
const LABS = path.join(PROJECT_ROOT, 'test', 'fixtures', 'labs-terminals');
const ONE_TERMINAL_LABS = path.join(PROJECT_ROOT, 'test', 'fixtures', 'labs-challenge');

const panel = (host: string) => `.terminal[data-host="${host}"]`;
const tab = (host: string) => `[role="tab"][data-host="${host}"]`;

/** The visible lines of `host`'s terminal, as xterm.js's DOM renderer draws them. */
async function screenLines(page: Page, host: string): Promise<string[]> {
  return page.$$eval(`${panel(host)} .xterm-rows > div`, (rows) => rows.map((r) => (r.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()));
}

async function waitForScreen(page: Page, host: string, pattern: RegExp, timeoutMs = 30_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = await screenLines(page, host);
    if (pattern.test(lines.join('\n'))) return lines;
    if (Date.now() > deadline) throw new Error(`${host}'s terminal never showed ${pattern}; screen:\n${lines.filter(Boolean).join('\n')}`);
    await page.waitForTimeout(100);
  }
}

/** What each run of `command` on the screen printed, up to the next prompt; undefined for a run still going. */
function runsOf(lines: readonly string[], host: string, command: string): (string[] | undefined)[] {
  const isPrompt = (l: string) => l.startsWith(`root@${host}:`) && /^root@[^:]+:\S*# /.test(`${l} `);
  const runs: (string[] | undefined)[] = [];
  lines.forEach((line, i) => {
    if (!isPrompt(line) || !line.endsWith(`# ${command}`)) return;
    const next = lines.findIndex((l, j) => j > i && isPrompt(l));
    runs.push(next < 0 ? undefined : lines.slice(i + 1, next));
  });
  return runs;
}

/** Waits until `host`'s screen shows more than `after` runs of `command`, the last one finished; answers what it printed. */
async function waitForCommand(page: Page, host: string, command: string, after = 0, timeoutMs = 30_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = await screenLines(page, host);
    const runs = runsOf(lines, host, command);
    const last = runs.at(-1);
    if (runs.length > after && last) return last;
    if (Date.now() > deadline) throw new Error(`"${command}" did not finish in ${host} within ${timeoutMs} ms; screen:\n${lines.filter(Boolean).join('\n')}`);
    await page.waitForTimeout(100);
  }
}

/** Types `command` into `host`'s terminal (which must be on screen) and answers what it printed. */
async function typeCommand(page: Page, host: string, command: string): Promise<string[]> {
  await page.click(panel(host));
  const before = runsOf(await screenLines(page, host), host, command).length;
  await page.keyboard.type(`${command}\n`);
  return waitForCommand(page, host, command, before);
}

const check = (page: Page) => pressCheck(page);

/** Which tab is selected, which panels are shown, and where the focus is, in one look. */
async function tabsState(page: Page): Promise<{ selected: string[]; shown: string[]; focusedTab: string | undefined; focusedPanel: string | undefined }> {
  // No named functions in here: the test's compiler would wrap them in a helper the page lacks.
  return page.evaluate(() => ({
    selected: Array.from(document.querySelectorAll<HTMLElement>('[role="tab"][aria-selected="true"]')).map((t) => t.dataset.host ?? ''),
    shown: Array.from(document.querySelectorAll<HTMLElement>('.terminal[data-host]'))
      .filter((p) => !p.hidden && p.offsetHeight > 0)
      .map((p) => p.dataset.host ?? ''),
    focusedTab: document.activeElement?.getAttribute('role') === 'tab' ? (document.activeElement as HTMLElement).dataset.host : undefined,
    focusedPanel: document.activeElement?.closest<HTMLElement>('.terminal[data-host]')?.dataset.host,
  }));
}

describe('a lab with a terminal in each of two hosts', { skip }, () => {
  let lab: RunningLabServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let session: SessionCreated;

  before(async () => {
    lab = await startLabServer({ labsDir: LABS, requireIpvs: false });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    session = await apiClient(lab.baseUrl).createSession('two-hosts');
  });
  after(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it('shows a tab per host, the main one selected', async () => {
    await page.goto(lab.baseUrl + session.url);
    await page.waitForSelector('#terminal-state[data-state="connected"]', { timeout: 60_000 });
    await waitForScreen(page, 'host', /root@host/);
    await page.waitForSelector('[role="tablist"]');
    assert.equal(await page.getAttribute('[role="tablist"]', 'aria-label'), 'Terminals');
    const tabs = page.locator('[role="tablist"] [role="tab"]');
    for (const host of ['host', 'client']) assert.equal(await page.getByRole('tab', { name: host, exact: true }).count(), 1);
    assert.deepEqual(await tabs.evaluateAll((ts) => ts.map((t) => (t as HTMLElement).dataset.host)), ['host', 'client']);
    assert.equal(await page.getAttribute(tab('host'), 'aria-selected'), 'true');
    assert.equal(await page.getAttribute(tab('client'), 'aria-selected'), 'false');
    // One tab stop for the tablist: the selected tab; the arrow keys reach the others.
    assert.equal(await page.getAttribute(tab('host'), 'tabindex'), '0');
    assert.equal(await page.getAttribute(tab('client'), 'tabindex'), '-1');
    // The main terminal keeps its place (#terminal, first in the page) and becomes the first tab's panel.
    assert.equal(await page.getAttribute('#terminal', 'data-host'), 'host');
    for (const host of ['host', 'client']) {
      const panelId = (await page.getAttribute(tab(host), 'aria-controls'))!;
      const tabId = (await page.getAttribute(tab(host), 'id'))!;
      assert.equal(await page.getAttribute(`#${panelId}`, 'role'), 'tabpanel');
      assert.equal(await page.getAttribute(`#${panelId}`, 'data-host'), host);
      assert.equal(await page.getAttribute(`#${panelId}`, 'aria-labelledby'), tabId);
    }
    assert.deepEqual((await tabsState(page)).shown, ['host']);
    // The client's shell is connected in the background: its tab carries no "not connected" mark.
    await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLElement>('[role="tab"] .tab-state')).every((m) => m.hidden), undefined, {
      timeout: 30_000,
    });
    assert.equal(await page.getAttribute('#terminal-state', 'data-state'), 'connected');
    assert.deepEqual(await tabs.allTextContents(), ['host', 'client']);
  });

  it('runs a command in the host tab', async () => {
    assert.deepEqual(await typeCommand(page, 'host', 'hostname'), ['host']);
  });

  it('switches to the client tab with the mouse; its shell runs in the client', async () => {
    await page.click(tab('client'));
    const state = await tabsState(page);
    assert.deepEqual(state.selected, ['client']);
    assert.deepEqual(state.shown, ['client']);
    assert.equal(state.focusedPanel, 'client', 'a click on a tab puts the keyboard in its terminal');
    await waitForScreen(page, 'client', /root@client/);
    assert.deepEqual(await typeCommand(page, 'client', 'hostname'), ['client']);
  });

  it('moves between tabs with the arrow keys, each keeping its scrollback', async () => {
    await page.focus(tab('client'));
    await page.keyboard.press('ArrowLeft');
    let state = await tabsState(page);
    assert.deepEqual(state.selected, ['host']);
    assert.deepEqual(state.shown, ['host']);
    assert.equal(state.focusedTab, 'host', 'the focus follows the selection');
    assert.equal(await page.getAttribute(tab('host'), 'tabindex'), '0');
    assert.equal(await page.getAttribute(tab('client'), 'tabindex'), '-1');
    assert.deepEqual(await waitForCommand(page, 'host', 'hostname'), ['host'], "the host's output is still on its screen");

    await page.keyboard.press('ArrowRight');
    state = await tabsState(page);
    assert.deepEqual([state.selected, state.shown, state.focusedTab], [['client'], ['client'], 'client']);
    assert.deepEqual(await waitForCommand(page, 'client', 'hostname'), ['client']);
    // The ends, and around.
    await page.keyboard.press('ArrowRight');
    assert.deepEqual((await tabsState(page)).selected, ['host']);
    await page.keyboard.press('End');
    assert.deepEqual((await tabsState(page)).selected, ['client']);
    await page.keyboard.press('Home');
    state = await tabsState(page);
    assert.deepEqual([state.selected, state.focusedTab], [['host'], 'host']);
  });

  it('fits a tab that was hidden while the window changed size, once it is shown', async () => {
    const rows = async (host: string) => page.locator(`${panel(host)} .xterm-rows > div`).count();
    const before = await rows('host');
    await page.setViewportSize({ width: 1100, height: 600 });
    await page.waitForFunction((n) => document.querySelectorAll('.terminal[data-host="host"] .xterm-rows > div').length < n, before);
    const hostRows = await rows('host');
    const [hostSize] = await typeCommand(page, 'host', 'stty size');
    assert.match(hostSize ?? '', new RegExp(`^${hostRows} \\d+$`));

    await page.click(tab('client'));
    assert.equal(await rows('client'), hostRows, "the client's terminal has the new size");
    assert.deepEqual(await typeCommand(page, 'client', 'stty size'), [hostSize], "and so has the client's shell");
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  it("runs a block meant for the client in the client's terminal, switching tabs", async () => {
    await page.click(tab('host'));
    const before = await check(page);
    assert.equal(before.passed, false);
    assert.equal(before.text, '✗ /tmp/seen-by-client does not exist yet in client');
    const block = page.locator('#step > .command[data-host="client"]');
    assert.equal(await block.getAttribute('data-command'), 'hostname > /tmp/seen-by-client');
    assert.equal(await block.locator('.command-host').textContent(), 'client$');
    await block.locator('button.run').click();
    const state = await tabsState(page);
    assert.deepEqual([state.selected, state.shown, state.focusedPanel], [['client'], ['client'], 'client']);
    assert.deepEqual(await waitForCommand(page, 'client', 'hostname > /tmp/seen-by-client'), []);
    const after = await check(page);
    assert.equal(after.passed, true, after.text);
    assert.equal(await page.locator('#progress button[data-step="from-client"].passed').count(), 1);
  });

  it('lists the solution with its host, and Run there types into that host', async () => {
    await page.click(tab('host'));
    await page.click('#step details.solution summary');
    const line = page.locator('#step details.solution .command');
    assert.equal(await line.count(), 1);
    assert.equal(await line.getAttribute('data-host'), 'client');
    assert.equal(await line.getAttribute('data-command'), 'hostname > /tmp/seen-by-client');
    assert.equal(await line.locator('.command-host').textContent(), 'client$');
    assert.equal(await line.locator('code').textContent(), 'hostname > /tmp/seen-by-client', 'the label is not part of the command');
    const runs = runsOf(await screenLines(page, 'client'), 'client', 'hostname > /tmp/seen-by-client').length;
    await line.locator('button.run').click();
    assert.deepEqual((await tabsState(page)).selected, ['client']);
    assert.deepEqual(await waitForCommand(page, 'client', 'hostname > /tmp/seen-by-client', runs), []);
  });

  it('names the terminals and the solution line host in the API', async () => {
    const state = await apiClient(lab.baseUrl).state(session);
    assert.deepEqual(state.terminals, ['host', 'client']);
    assert.deepEqual(state.steps[0]!.solution, [{ host: 'client', command: 'hostname > /tmp/seen-by-client' }]);
  });

  it("replays both terminals' output after a reload", async () => {
    await page.reload();
    await page.waitForSelector('#terminal-state[data-state="connected"]', { timeout: 30_000 });
    await page.waitForSelector(tab('client'));
    assert.deepEqual((await tabsState(page)).selected, ['host'], 'the main terminal comes first again');
    await waitForScreen(page, 'host', /root@host/);
    assert.deepEqual(runsOf(await screenLines(page, 'host'), 'host', 'hostname'), [['host']]);
    await page.click(tab('client'));
    await waitForScreen(page, 'client', /root@client/);
    const lines = await screenLines(page, 'client');
    assert.deepEqual(runsOf(lines, 'client', 'hostname'), [['client']]);
    assert.equal(runsOf(lines, 'client', 'hostname > /tmp/seen-by-client').length, 2);
    assert.deepEqual(pageErrors, []);
  });

  it('marks the tab of a terminal that is not connected', async () => {
    // The client's socket is refused (by the test, in the page) until it lets go; the host's goes through.
    let holdClient = true;
    await page.routeWebSocket(/\/terminal\?.*host=client/, (ws) =>
      holdClient ? ws.close({ code: 1013, reason: 'held back by the test' }) : ws.connectToServer(),
    );
    try {
      await page.reload();
      await page.waitForSelector(`${tab('client')} .tab-state[data-state="reconnecting"]:not([hidden])`, { timeout: 10_000 });
      assert.equal(await page.locator(`${tab('host')} .tab-state`).isHidden(), true);
      assert.match((await page.getAttribute(`${tab('client')} .tab-state`, 'title')) ?? '', /^reconnecting…/);
      assert.equal(await page.getByRole('tab', { name: 'client (reconnecting…)' }).count(), 1, 'in words too');
      await page.waitForSelector('#terminal-state[data-state="connected"]');
      // The bar's state is the state of the terminal on screen.
      await page.click(tab('client'));
      assert.equal(await page.getAttribute('#terminal-state', 'data-state'), 'reconnecting');
    } finally {
      holdClient = false;
    }
    await page.waitForSelector('#terminal-state[data-state="connected"]', { timeout: 30_000 });
    await page.waitForSelector(`${tab('client')} .tab-state[hidden]`, { state: 'attached' });
    assert.equal(await page.getByRole('tab', { name: 'client', exact: true }).count(), 1);
    await waitForScreen(page, 'client', /root@client/);
    assert.deepEqual(pageErrors, []);
  });
});

describe('a lab with one terminal', { skip }, () => {
  let lab: RunningLabServer;
  let browser: Browser;

  before(async () => {
    lab = await startLabServer({ labsDir: ONE_TERMINAL_LABS, requireIpvs: false });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await lab?.stop();
  });

  it('shows no tabs', async () => {
    const session = await apiClient(lab.baseUrl).createSession('challenge-lab');
    const state: SessionState = await apiClient(lab.baseUrl).state(session);
    assert.deepEqual(state.terminals, ['host']);
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(lab.baseUrl + session.url);
    await page.waitForSelector('#terminal-state[data-state="connected"]', { timeout: 60_000 });
    await waitForScreen(page, 'host', /root@host/);
    assert.equal(await page.locator('[role="tablist"], [role="tab"], [role="tabpanel"]').count(), 0);
    assert.equal(await page.locator('.terminal-pane > .terminal').count(), 1);
    assert.equal(await page.textContent('.terminal-bar > span:first-child'), 'root@host');
  });
});
