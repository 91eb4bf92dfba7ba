import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium; `npx playwright install` cannot download a browser on these machines. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless chromium (playwright gives it a fresh throw-away profile). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Without the background-networking flags chromium keeps trying to reach Google, which this
    // machine's closed network refuses.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** False when the browser is there; else why browser tests are skipped and how to get it. In CI its absence fails at once. */
export function browserSkipReason(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `no browser at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`;
  if (process.env.CI) throw new Error(`CI needs a browser: ${reason}`);
  return reason;
}

/**
 * Presses the page's Check button and waits for its verdict, as a learner reads it: passed or
 * not, and the text. A check on the emulated VM can take a while; the default is generous.
 */
export async function pressCheck(page: Page, timeoutMs = 60_000): Promise<{ passed: boolean; text: string }> {
  await page.click('#check');
  await page.waitForFunction(
    () => {
      const box = document.getElementById('check-result')!;
      return !box.hidden && !box.classList.contains('running');
    },
    undefined,
    { timeout: timeoutMs },
  );
  const box = page.locator('#check-result');
  return { passed: (await box.getAttribute('class'))!.includes('passed'), text: (await box.textContent()) ?? '' };
}

/** The main terminal's visible lines, as xterm.js's DOM renderer draws them. */
export async function screenLines(page: Page): Promise<string[]> {
  return page.$$eval('#terminal .xterm-rows > div', (rows) => rows.map((r) => (r.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()));
}

/**
 * Types `command` into the main terminal, followed by `&& echo <marker>`, and waits for the marker
 * on a line of its own (not its echo, which has `echo` before it): a command longer than a
 * terminal line wraps, so the prompt alone cannot say it finished.
 */
export async function typeWithMarker(page: Page, command: string, marker: string, timeoutMs = 30_000): Promise<void> {
  await page.click('#terminal');
  await page.keyboard.type(`${command} && echo ${marker}\n`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = await screenLines(page);
    if (lines.includes(marker)) return;
    if (Date.now() > deadline) throw new Error(`"${command}" did not finish within ${timeoutMs} ms; screen:\n${lines.filter(Boolean).join('\n')}`);
    await page.waitForTimeout(100);
  }
}
