import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

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
