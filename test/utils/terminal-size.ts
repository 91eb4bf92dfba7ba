import assert from 'node:assert/strict';
import { typeAndWait } from '../../server/src/client/type-and-wait.js';
import type { TerminalClient } from './terminal-client.js';

/**
 * Waits until `stty size` in the shell says `expected` ("rows cols"). The docker client passes a
 * resize on to the container asynchronously, so the first `stty size` after one may be stale.
 */
export async function waitForSize(term: TerminalClient, expected: string): Promise<void> {
  let last = '';
  for (let i = 0; i < 25; i++) {
    last = /\r(\d+ \d+)\r/.exec(await typeAndWait(term, 'stty size'))?.[1] ?? '';
    if (last === expected) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`stty size stayed ${last}; expected ${expected}`);
}
