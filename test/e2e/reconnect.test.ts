/**
 * The page survives the network: a real browser behind a proxy that cuts every connection. The
 * page shows that it is reconnecting, comes back by itself, and the shell's output arrives exactly
 * once, including what was printed while it was away. When the session is removed, it says so.
 * No IPVS needed: this runs on any engine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { SessionCreated } from '../../common/api.js';
import { apiClient } from '../utils/api.js';
import { browserSkipReason, launchBrowser } from '../utils/browser.js';
import { engineSkipReason } from '../utils/engine.js';
import { startLabServer, type RunningLabServer } from '../utils/lab-server.js';
import { TcpProxy } from '../utils/tcp-proxy.js';

const screenText = (page: Page) =>
  page.$$eval('.xterm-rows > div', (rows) => rows.map((r) => (r.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()).join('\n'));
const stateOf = (page: Page) => page.getAttribute('#terminal-state', 'data-state');

describe('the page across network drops', { skip: (await engineSkipReason()) || browserSkipReason() }, () => {
  let lab: RunningLabServer;
  let proxy: TcpProxy;
  let browser: Browser;
  let page: Page;
  let session: SessionCreated;

  before(async () => {
    lab = await startLabServer({ requireIpvs: false });
    proxy = await TcpProxy.start(Number(new URL(lab.baseUrl).port));
    session = await apiClient(lab.baseUrl).createSession('ipvs-intro');
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`http://127.0.0.1:${proxy.port}${session.url}`);
    await page.waitForSelector('#terminal-state[data-state="connected"]');
    await page.waitForFunction(() => document.querySelector('.xterm-rows')?.textContent?.includes('root@host'));
  });
  after(async () => {
    await browser?.close();
    await proxy?.close();
    await lab?.stop();
  });

  it('shows that it reconnects, comes back by itself, and loses or repeats nothing', async () => {
    await page.click('#terminal');
    await page.keyboard.type('for i in $(seq 1 20); do echo tick-$i; sleep 0.2; done\n');
    await page.waitForFunction(() => /tick-3(?!\d)/.test(document.querySelector('.xterm-rows')?.textContent ?? ''));
    proxy.refusing(true);
    proxy.drop();
    await page.waitForSelector('#terminal-state[data-state="reconnecting"]', { timeout: 10_000 });
    const during = await screenText(page);
    await new Promise((r) => setTimeout(r, 2500)); // ticks keep coming in the container meanwhile
    assert.equal(await stateOf(page), 'reconnecting');
    assert.ok(!/tick-20(?!\d)/.test(during), 'the loop was still running when the network went');
    proxy.refusing(false);
    await page.waitForSelector('#terminal-state[data-state="connected"]', { timeout: 30_000 });
    await page
      .waitForFunction(() => /tick-20(?!\d)/.test(document.querySelector('.xterm-rows')?.textContent ?? ''), undefined, { timeout: 30_000 })
      .catch(async (e: Error) => assert.fail(`${e.message}; the screen:\n${await screenText(page)}`));
    const text = await screenText(page);
    for (let i = 1; i <= 20; i++) {
      const seen = text.match(new RegExp(`^tick-${i}$`, 'gm'))?.length ?? 0;
      assert.equal(seen, 1, `tick-${i} appears ${seen} times:\n${text}`);
    }
  });

  it('keeps typing working after the reconnect', async () => {
    await page.click('#terminal');
    await page.keyboard.type('echo back-$((20+1))\n');
    await page.waitForFunction(() => /back-21/.test(document.querySelector('.xterm-rows')?.textContent ?? ''));
  });

  it('says the session has ended when it is removed', async () => {
    assert.equal(await apiClient(lab.baseUrl).remove(session), 204);
    await page.waitForSelector('#terminal-state[data-state="gone"]', { timeout: 10_000 });
    assert.match((await page.textContent('#terminal-state')) ?? '', /session ended/);
  });
});
