import type { TerminalClient } from './terminal-client.js';

let counter = 0;

/**
 * Types a command into the real terminal, as a learner would, and waits until it has finished.
 * The same line ends with `; echo done-$((N+1))`, whose output (`done-<N+1>`) differs from its
 * echo, so the wait cannot be fooled by the shell echoing the keystrokes. (A separate line typed
 * ahead would be swallowed by programs that read the terminal, such as apt.)
 */
export async function typeAndWait(term: TerminalClient, command: string, timeoutMs = 120_000): Promise<string> {
  const n = ++counter * 1000;
  const from = term.output.length;
  term.send(`${command}; echo done-$((${n}+1))\r`);
  await term.waitFor(new RegExp(`[\\r\\n]done-${n + 1}\\r\\n`), timeoutMs, from);
  return term.output.slice(from);
}
