import type { TerminalClient } from './terminal-client.js';

let counter = 0;

/**
 * Types one shell line into the real terminal, as a learner would, and waits until it has
 * finished. The same line ends with `echo done-$((N+1))`, whose output (`done-<N+1>`) differs from
 * its echo, so the wait cannot be fooled by the shell echoing the keystrokes. (A separate line
 * typed ahead would be swallowed by programs that read the terminal, such as apt.)
 * Returns the output from the keystrokes' echo to the marker.
 */
export async function typeAndWait(term: TerminalClient, command: string, timeoutMs = 120_000): Promise<string> {
  const n = ++counter * 1000;
  const from = term.output.length;
  // `cmd &; echo` is a syntax error: after a line that already ends in & or ;, no separator.
  const separator = /[;&]\s*$/.test(command) ? ' ' : '; ';
  term.send(`${command}${separator}echo done-$((${n}+1))\r`);
  const marker = new RegExp(`[\\r\\n]done-${n + 1}\\r\\n`);
  const match = await term.waitFor(marker, timeoutMs, from);
  return term.output.slice(from, from + (match.index ?? 0));
}
