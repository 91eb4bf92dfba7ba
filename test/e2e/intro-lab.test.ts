/**
 * A learner completes the IPVS intro lab in a real browser against real kernel IPVS: start from
 * the landing page, use the Run buttons, make a mistake and read the check's message, fix it,
 * finish every step, reload and find everything as it was.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, launchBrowser, pressCheck, screenLines } from '../utils/browser.js';
import { engineSkipReason, ipvsSkipReason } from '../utils/engine.js';
import { startLabServer } from '../utils/lab-server.js';

const noEngine = (await engineSkipReason()) || browserSkipReason();
const lab = noEngine ? undefined : await startLabServer({ requireIpvs: false });
const skip = noEngine || ipvsSkipReason((await lab?.server.ready)?.ipvs ?? false);

/**
 * Waits until `command` shows on the screen followed, later, by an idle prompt on the last line.
 * `before` is the screen before the command was typed: until the screen differs from it, an older
 * run of the same command could pass for this one.
 */
async function waitForCommandDone(page: Page, command: string, before: readonly string[], timeoutMs = 180_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const head = command.slice(0, 40);
  for (;;) {
    const lines = await screenLines(page);
    if (lines.join('\n') === before.join('\n')) {
      if (Date.now() > deadline) throw new Error(`"${command}" never showed on the screen`);
      await page.waitForTimeout(100);
      continue;
    }
    const last = lines
      .map((l, i) => [l, i] as const)
      .filter(([l]) => l !== '')
      .pop();
    const commandRow = lines.findLastIndex((l) => l.includes(head));
    if (last && commandRow >= 0 && last[1] > commandRow && /^root@host:\S*# $/.test(`${last[0]} `)) return lines.slice(commandRow);
    if (Date.now() > deadline) throw new Error(`"${command}" did not finish within ${timeoutMs} ms; screen:\n${lines.filter(Boolean).join('\n')}`);
    await page.waitForTimeout(200);
  }
}

/** Clicks every Run button of the current step in turn, waiting for each command to finish. */
async function runAll(page: Page): Promise<string[][]> {
  const outputs: string[][] = [];
  const blocks = await page.$$('#step > .command');
  for (const block of blocks) {
    const command = (await block.getAttribute('data-command')) ?? '';
    const before = await screenLines(page);
    await block.$eval('button.run', (b) => (b as HTMLButtonElement).click());
    outputs.push(await waitForCommandDone(page, command, before));
  }
  return outputs;
}

const check = (page: Page) => pressCheck(page);

async function currentStep(page: Page): Promise<string> {
  return (await page.getAttribute('#step', 'data-step')) ?? '';
}

describe('a learner completes the IPVS intro lab in the browser', { skip }, () => {
  if (!lab) return;
  let browser: Browser;
  let page: Page;
  let vip = '';
  let nginx2 = '';

  before(async () => {
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: lab.baseUrl });
    page = await context.newPage();
  });
  after(async () => {
    await browser?.close();
    await lab.stop();
  });

  it('starts a session from the landing page and gets a live shell', async () => {
    await page.goto(lab.baseUrl);
    const start = page.locator('button.start[data-lab="ipvs-intro"]');
    await start.waitFor();
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('button.start')!.disabled);
    await start.click();
    // The token leaves the address bar as soon as the page has it.
    await page.waitForURL(/\/s\/[0-9a-f]+$/, { timeout: 180_000 });
    await page.waitForSelector('#terminal-state[data-state="connected"]');
    assert.ok(!page.url().includes('token'), page.url());
    await page.waitForFunction(() => document.querySelector('.xterm-rows')?.textContent?.includes('root@host'));
    assert.equal(await page.textContent('#lab-title'), 'IPVS: your first virtual service');
    assert.equal(await currentStep(page), 'intro');
    assert.match((await page.textContent('#progress-text')) ?? '', /Step 1 of 8 · 0 done/);
    vip = (await page.locator('#step table').last().locator('td').nth(1).textContent())?.trim() ?? '';
    assert.match(vip, /^\d+\.\d+\.\d+\.\d+$/, 'the intro names the host container address');
    // Rows host, nginx-1, nginx-2; three cells each: nginx-2's address is the eighth cell.
    nginx2 = (await page.locator('#step table').last().locator('td').nth(7).textContent())?.trim() ?? '';
    assert.match(nginx2, /^\d+\.\d+\.\d+\.\d+$/, 'the intro names nginx-2 address');
  });

  it('installs ipvsadm with the Run buttons and passes the check', async () => {
    assert.equal(await check(page).then((r) => r.passed), true, 'the intro has no check: Mark as done');
    await page.click('#next');
    assert.equal(await currentStep(page), 'install');
    const solution = page.locator('#step details.solution');
    assert.equal(await solution.locator('summary').textContent(), 'Show solution');
    assert.equal(await solution.locator('.command').first().getAttribute('data-command'), 'apt-get install -y ipvsadm');
    assert.equal(await solution.evaluate((d) => (d as HTMLDetailsElement).open), false, 'the solution starts folded');
    const before = await check(page);
    assert.equal(before.passed, false);
    assert.match(before.text, /ipvsadm is not installed yet/);
    const [install, version] = await runAll(page);
    assert.ok(install!.join('\n').includes('root@host'), 'apt ran to the prompt');
    assert.match(version!.join('\n'), /ipvsadm v1\.\d+/);
    const after = await check(page);
    assert.equal(after.passed, true, after.text);
  });

  it('copies a command to the clipboard with the Copy button', async () => {
    await page.click('#next');
    assert.equal(await currentStep(page), 'backends');
    const block = page.locator('#step .command').first();
    await block.locator('button.copy').click();
    await page.waitForFunction(() => document.querySelector('#step .command button.copy')?.textContent === 'Copied');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await block.getAttribute('data-command'));
    const outputs = await runAll(page);
    assert.match(outputs[0]!.join('\n'), /nginx 1/);
    assert.match(outputs[1]!.join('\n'), /nginx 2/);
    assert.equal((await check(page)).passed, true);
  });

  it('makes a mistake (wrong scheduler) and reads what is wrong', async () => {
    await page.click('#next');
    assert.equal(await currentStep(page), 'service');
    const wrong = `ipvsadm -A -t ${vip}:80 -s wrr`;
    await page.click('#terminal');
    const beforeWrong = await screenLines(page);
    await page.keyboard.type(`${wrong}\n`);
    await waitForCommandDone(page, wrong, beforeWrong);
    const result = await check(page);
    assert.equal(result.passed, false);
    assert.equal(result.text, `✗ TCP ${vip}:80 uses scheduler wrr; this step asks for rr (change it with ipvsadm -E -t ${vip}:80 -s rr).`);
    const fix = `ipvsadm -D -t ${vip}:80`;
    await page.click('#terminal'); // the Check button has the focus now
    const beforeFix = await screenLines(page);
    await page.keyboard.type(`${fix}\n`);
    await waitForCommandDone(page, fix, beforeFix);
  });

  it('finishes every step with Run and Check', async () => {
    await runAll(page);
    assert.equal((await check(page)).passed, true);
    await page.click('#next');
    assert.equal(await currentStep(page), 'real-servers');
    const outputs = await runAll(page);
    assert.match(outputs[2]!.join('\n'), /Masq/);
    const realServers = await check(page);
    assert.equal(realServers.passed, true, realServers.text);
    await page.click('#next');
    assert.equal(await currentStep(page), 'traffic');
    const [curls] = await runAll(page);
    const answers = curls!.join('\n').match(/nginx [12]/g) ?? [];
    assert.equal(answers.length, 6);
    assert.deepEqual(
      answers,
      answers[0] === 'nginx 2'
        ? ['nginx 2', 'nginx 1', 'nginx 2', 'nginx 1', 'nginx 2', 'nginx 1']
        : ['nginx 1', 'nginx 2', 'nginx 1', 'nginx 2', 'nginx 1', 'nginx 2'],
    );
    const traffic = await check(page);
    assert.equal(traffic.passed, true, traffic.text);
    assert.match(traffic.text, /nginx-1/);

    // The challenge: no Run buttons, a hint on request, and the learner's own command.
    await page.click('#next');
    assert.equal(await currentStep(page), 'challenge');
    assert.equal(await page.locator('#step button.run').count(), 0, 'a challenge gives no commands to run');
    const notYet = await check(page);
    assert.equal(notYet.passed, false);
    assert.match(notYet.text, /has weight 1; this step asks for 0/);
    await page.click('#step button.show-hint');
    await page.waitForSelector('#step .hint-list > li');
    assert.match((await page.textContent('#step .hint-list')) ?? '', /Hint 1/);
    const drain = `ipvsadm -e -t ${vip}:80 -r ${nginx2}:80 -m -w 0`;
    await page.click('#terminal');
    const beforeDrain = await screenLines(page);
    await page.keyboard.type(`${drain}\n`);
    await waitForCommandDone(page, drain, beforeDrain);
    const drained = await check(page);
    assert.equal(drained.passed, true, drained.text);

    await page.click('#next');
    assert.equal((await check(page)).passed, true);
    assert.equal(await page.locator('#progress button.passed').count(), 8);
    assert.match((await page.textContent('#progress-text')) ?? '', /Step 8 of 8 · 8 done/);
    await page.screenshot({ path: 'test-results/intro-lab-done.png' });
  });

  it('keeps the session, shell history, step and progress across a reload', async () => {
    await page.reload();
    await page.waitForSelector('#terminal-state[data-state="connected"]');
    assert.equal(await currentStep(page), 'done');
    assert.equal(await page.locator('#progress button.passed').count(), 8);
    await page.waitForFunction(() => /nginx [12]/.test(document.querySelector('.xterm-rows')?.textContent ?? ''));
  });
});

if (skip) await lab?.stop();
