import type { TerminalClient } from './terminal-client.js';

/**
 * Keystroke echo through the whole path (page → server → pty → docker exec → bash → back), in
 * milliseconds: each sample types a letter, waits for its echo, then erases it, so the command
 * line never grows. The shell must be at an idle prompt.
 */
export async function sampleEcho(term: TerminalClient, samples: number, timeoutMs = 10_000): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const letter = String.fromCharCode(97 + (i % 26));
    let mark = term.output.length;
    const sent = performance.now();
    term.send(letter);
    await term.waitFor(new RegExp(letter), timeoutMs, mark);
    times.push(performance.now() - sent);
    mark = term.output.length;
    term.send('\x7f');
    // Readline erases with a backspace (\b): its echo is the end of the sample.
    await term.waitFor(new RegExp(String.fromCharCode(8)), timeoutMs, mark);
    await new Promise((r) => setTimeout(r, 5));
  }
  return times;
}
