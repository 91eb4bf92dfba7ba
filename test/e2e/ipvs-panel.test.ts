/**
 * The live IPVS panel in a real browser against real kernel IPVS: with the panel open, a learner
 * types the intro lab's commands into the terminal and watches the service, its two backends and,
 * after ten requests through the virtual IP, a five/five split in alternating cells. The moment is
 * saved as a screenshot (test-results/ipvs-panel.png, and docs/screenshot.png for the README).
 * Then the same page in the dark theme and at 400 px wide. Needs an engine with IPVS.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import type { SessionState } from '../../common/api.js';
import { PROJECT_ROOT } from '../../server/src/config.js';
import { apiClient } from '../utils/api.js';
import { browserSkipReason, launchBrowser, typeWithMarker } from '../utils/browser.js';
import { engineSkipReason, ipvsSkipReason } from '../utils/engine.js';
import { startLabServer } from '../utils/lab-server.js';

const noEngine = (await engineSkipReason()) || browserSkipReason();
const lab = noEngine ? undefined : await startLabServer({ requireIpvs: false });
const skip = noEngine || ipvsSkipReason((await lab?.server.ready)?.ipvs ?? false);

const ARTIFACT = path.join(PROJECT_ROOT, 'test-results', 'ipvs-panel.png');
const README_SCREENSHOT = path.join(PROJECT_ROOT, 'docs', 'screenshot.png');

/** The panel's service table as text: its caption, then each row's cells. */
async function tableText(service: Locator): Promise<{ caption: string; headers: string[]; rows: string[][] }> {
  return {
    caption: ((await service.locator('caption').textContent()) ?? '').replace(/\s+/g, ' ').trim(),
    headers: (await service.locator('thead th[scope="col"]').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim()),
    rows: await service
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => Array.from(r.children, (c) => (c.textContent ?? '').replace(/\s+/g, ' ').trim()))),
  };
}

describe('the live IPVS panel beside the terminal', { skip }, () => {
  if (!lab) return;
  let browser: Browser;
  let page: Page;
  let state: SessionState;
  let url: string;
  const pageErrors: string[] = [];
  const api = apiClient(lab.baseUrl);
  const fill = (command: string) => command.replace(/\{\{([\w.-]+)\}\}/g, (_, name: string) => state.variables[name] ?? `{{${name}}}`);
  const panel = () => page.getByRole('region', { name: 'IPVS table' });

  before(async () => {
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const created = await api.createSession('ipvs-intro');
    state = await api.state(created);
    url = lab.baseUrl + created.url;
    await page.goto(url);
    await page.waitForSelector('.xterm-rows');
  });
  after(async () => {
    await browser?.close();
    await lab.stop();
  });

  it('opens from the terminal bar, as a named region, and shows the empty table', async () => {
    const toggle = page.getByRole('button', { name: 'IPVS table', exact: true });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.equal(await panel().isVisible(), false, 'closed until the learner opens it');
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    await panel().locator('.ipvs-status[data-state="live"]').waitFor({ timeout: 60_000 });
    assert.match((await panel().locator('.ipvs-host').textContent()) ?? '', /^host$/);
    assert.match((await panel().locator('.ipvs-empty').textContent()) ?? '', new RegExp(`ipvsadm -A -t ${state.variables.vip!.replace(/\./g, '\\.')}:80`));
  });

  it('shows the service, the two backends and, after ten requests, a five/five split in alternating cells', async () => {
    await typeWithMarker(page, 'apt-get install -y ipvsadm >/dev/null', 'installed', 180_000);
    await typeWithMarker(page, fill('ipvsadm -A -t {{vip}}:80 -s rr'), 'service-added', 60_000);
    const key = `TCP ${state.variables.vip!}:80`;
    const service = panel().locator(`.ipvs-service[data-service="${key}"]`);
    await service.waitFor({ timeout: 30_000 });
    assert.match((await tableText(service)).caption, /scheduler rr/);

    await typeWithMarker(
      page,
      fill('ipvsadm -a -t {{vip}}:80 -r {{nginx-1.ip}}:80 -m && ipvsadm -a -t {{vip}}:80 -r {{nginx-2.ip}}:80 -m'),
      'servers-added',
      60_000,
    );
    await service.locator('tbody tr').nth(1).waitFor({ timeout: 30_000 });
    const table = await tableText(service);
    assert.deepEqual(table.headers, ['Real server', 'Forward', 'Weight', 'Active', 'Inactive', 'Conns', 'InPkts', 'OutPkts']);
    assert.equal(table.rows.length, 2);
    assert.match(table.rows[0]![0]!, new RegExp(`nginx-1.*${state.variables['nginx-1.ip']!.replace(/\./g, '\\.')}:80`));
    assert.match(table.rows[1]![0]!, /nginx-2/);
    assert.ok(
      table.rows.every((r) => r[1] === 'Masq (NAT)' && r[2]!.startsWith('1')),
      JSON.stringify(table.rows),
    );
    assert.equal((await service.locator('.ipvs-mark', { hasText: 'new' }).count()) >= 1, true, 'what just appeared is marked in words');

    await typeWithMarker(page, fill('for i in $(seq 10); do curl -s {{vip}}; done'), 'ten-sent', 60_000);
    const strip = service.getByRole('list', { name: 'Last 10 connections, oldest first' });
    await strip.waitFor({ timeout: 30_000 });
    const cells = await strip.locator('li').evaluateAll((items) => items.map((i) => (i as HTMLElement).dataset.server ?? ''));
    assert.equal(cells.length, 10);
    assert.ok(
      cells.every((server, i) => i === 0 || server !== cells[i - 1]),
      `round robin alternates: ${cells.join(' ')}`,
    );
    const shares = (await service.locator('.ipvs-share-text').allTextContents()).map((t) => t.trim()).sort();
    assert.deepEqual(shares, ['nginx-1 5 of 10 (50%)', 'nginx-2 5 of 10 (50%)']);
    // The counters catch up within the kernel's 2 s estimator tick.
    // The Conns cell of the service's total row (the sixth), once the counters caught up.
    await page
      .waitForFunction(
        (selector) => document.querySelector(selector)?.children[5]?.textContent?.trim() === '10',
        `.ipvs-service[data-service="${key}"] tfoot tr`,
        { timeout: 30_000 },
      )
      .catch(async (e: Error) =>
        assert.fail(
          `the service total never counted 10 connections: ${JSON.stringify(await service.locator('tfoot tr > *').allTextContents())} (${e.message})`,
        ),
      );

    // The README's picture: the step that sends the traffic, beside the panel that shows it.
    await page.locator('#progress button[data-step="traffic"]').click();
    await page.locator('#step h1, #step h2').first().waitFor();
    mkdirSync(path.dirname(ARTIFACT), { recursive: true });
    await page.screenshot({ path: ARTIFACT });
    copyFileSync(ARTIFACT, README_SCREENSHOT);
  });

  it('marks a backend quiesced when its weight drops to 0', async () => {
    await typeWithMarker(page, fill('ipvsadm -e -t {{vip}}:80 -r {{nginx-2.ip}}:80 -m -w 0'), 'drained', 60_000);
    const row = panel().locator(`tr[data-server="${state.variables['nginx-2.ip']!}:80"]`);
    await row.locator('.ipvs-quiesced').waitFor({ timeout: 30_000 });
    assert.match((await row.locator('.ipvs-mark').allTextContents()).join(' '), /weight 1 →\s*(to )?0/, 'the weight change is named in words');
    assert.match((await panel().locator('[aria-live="polite"]').textContent()) ?? '', /nginx-2/);
  });

  it('follows the dark theme', async () => {
    const background = () => panel().evaluate((e) => getComputedStyle(e).backgroundColor);
    const light = await background();
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await background();
    assert.notEqual(dark, light);
    const luminance = (rgb: string) => (rgb.match(/\d+/g) ?? []).slice(0, 3).reduce((sum, v) => sum + Number(v), 0);
    assert.ok(luminance(dark) < luminance(light), `dark ${dark} is darker than light ${light}`);
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('works at 400 px wide: no sideways scrolling, and every control within reach', async () => {
    await page.setViewportSize({ width: 400, height: 800 });
    await page.reload();
    await panel().locator('.ipvs-service').first().waitFor({ timeout: 60_000 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, 'the page does not scroll sideways');
    // Back to a step with commands: its Copy and Run buttons, and the step buttons, can be reached and seen.
    await page.locator('#progress button[data-step="real-servers"]').click();
    for (const name of ['Copy', 'Run']) {
      const button = page.locator('#step').getByRole('button', { name, exact: true }).first();
      await button.scrollIntoViewIfNeeded();
      const box = await button.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 400, `${name} is inside the screen: ${JSON.stringify(box)}`);
    }
    for (const id of ['#prev', '#check', '#next']) {
      const button = page.locator(id);
      await button.scrollIntoViewIfNeeded();
      assert.ok(await button.isVisible(), `${id} is visible`);
      const box = await button.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 400, `${id} is inside the screen: ${JSON.stringify(box)}`);
    }
    const table = panel().locator('.ipvs-service').first();
    await table.scrollIntoViewIfNeeded();
    assert.ok(await table.isVisible());
    assert.deepEqual(pageErrors, []);
  });
});
