/**
 * Keystroke echo: what the server adds to a learner's typing. The same container's bash is driven
 * two ways, alternately, one keystroke at a time:
 *   full:   WebSocket → server → node-pty → docker exec → bash → and back (a headless page);
 *   direct: node-pty in this process → docker exec → bash (no server).
 * Each sample types one letter and times its echo, then a backspace and times its echo, so the
 * line never grows and every sample meets the same readline state.
 */
import * as pty from 'node-pty';
import type { SessionCreated } from '../common/api.js';
import { apiClient } from '../test/utils/api.js';
import { startInProcessServer } from './support/bench-server.js';
import { OutputWatch } from './support/output-watch.js';
import { atPrompt, hostContainerId, LAB, openShell, stringEnv, type OpenShell } from './support/shell.js';
import { ms, rounded, sleep, summarize } from './support/stats.js';

const WARMUP = 20;
const SAMPLES = 300;
const ECHO_TIMEOUT_MS = 5_000;
const TARGET_ADDED_MS = 2;

interface EchoTarget {
  readonly name: string;
  readonly watch: OutputWatch;
  write(data: string): void;
}

interface Timings {
  readonly letter: number[];
  readonly backspace: number[];
}

/** Times the echo of one letter, then of the backspace that erases it. */
async function sample(target: EchoTarget, letter: string, into: Timings | undefined): Promise<void> {
  let mark = target.watch.received;
  const sent = performance.now();
  target.write(letter);
  const echoed = await target.watch.until((w) => w.since(mark).includes(letter), ECHO_TIMEOUT_MS, `the echo of ${JSON.stringify(letter)} (${target.name})`);
  // Readline erases with "\b \b" or "\b\x1b[K": either way its echo starts with a backspace.
  mark = target.watch.received;
  const erased = performance.now();
  target.write('\x7f');
  const done = await target.watch.until((w) => w.since(mark).includes('\b'), ECHO_TIMEOUT_MS, `the echo of a backspace (${target.name})`);
  into?.letter.push(echoed - sent);
  into?.backspace.push(done - erased);
  // Let the rest of the erase sequence arrive before the next keystroke.
  await sleep(3);
}

/** docker exec straight from this process, as the server runs it but without the server. */
async function directShell(containerId: string): Promise<{ target: EchoTarget; close(): Promise<void> }> {
  const watch = new OutputWatch();
  const p = pty.spawn('docker', ['exec', '-it', '-e', 'TERM=xterm-256color', containerId, 'bash'], {
    name: 'xterm-256color',
    cols: 120,
    rows: 40,
    env: stringEnv(),
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    p.onExit(() => {
      exited = true;
      resolve();
    }),
  );
  p.onData((d) => watch.push(d));
  const close = async () => {
    if (exited) return;
    p.write('exit\r');
    await Promise.race([exit, sleep(3_000)]);
    if (!exited) p.kill();
  };
  try {
    await watch.until(atPrompt, 30_000, 'the prompt of the direct docker exec');
    await watch.quiet(300, 10_000);
  } catch (e) {
    await close();
    throw e;
  }
  return { target: { name: 'direct docker exec', watch, write: (d) => p.write(d) }, close };
}

export async function echoLatency(): Promise<Record<string, unknown>> {
  const server = await startInProcessServer('bench-echo');
  const api = apiClient(server.baseUrl);
  let session: SessionCreated | undefined;
  let shell: OpenShell | undefined;
  let direct: Awaited<ReturnType<typeof directShell>> | undefined;
  const full: Timings = { letter: [], backspace: [] };
  const bare: Timings = { letter: [], backspace: [] };
  let leftovers = 0;
  try {
    session = await api.createSession(LAB);
    shell = await openShell(server.baseUrl, session);
    const containerId = await hostContainerId(server.serverName, session.id);
    direct = await directShell(containerId);
    const client = shell.client;
    const fullTarget: EchoTarget = { name: 'full path', watch: shell.watch, write: (d) => client.send(d) };
    console.log(
      `echo: ${WARMUP} warm-up then ${SAMPLES} samples per path, alternating which goes first; container ${containerId.slice(0, 12)} (server in this process)`,
    );
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      const letter = String.fromCharCode(97 + (i % 26));
      const measured = i >= WARMUP;
      const order = i % 2 === 0 ? [fullTarget, direct.target] : [direct.target, fullTarget];
      for (const target of order) await sample(target, letter, measured ? (target === fullTarget ? full : bare) : undefined);
    }
  } finally {
    await direct?.close();
    await shell?.client.close();
    if (session) await api.remove(session);
    leftovers = await server.stop();
  }
  const f = summarize(full.letter);
  const d = summarize(bare.letter);
  const fb = summarize(full.backspace);
  const db = summarize(bare.backspace);
  const added = f.p50 - d.p50;
  console.log(`echo: full path (WebSocket+server): letter median ${ms(f.p50)}, p99 ${ms(f.p99)}; backspace median ${ms(fb.p50)}, p99 ${ms(fb.p99)}`);
  console.log(`echo: direct docker exec:           letter median ${ms(d.p50)}, p99 ${ms(d.p99)}; backspace median ${ms(db.p50)}, p99 ${ms(db.p99)}`);
  console.log(`echo: ratio full/direct: median ${(f.p50 / d.p50).toFixed(2)}x, p99 ${(f.p99 / d.p99).toFixed(2)}x`);
  console.log(`echo: server adds ${ms(added)} at the median (target < ${TARGET_ADDED_MS} ms: ${added < TARGET_ADDED_MS ? 'met' : 'NOT met'})`);
  if (leftovers > 0) console.log(`echo: ${leftovers} container(s) were left behind by the server and removed`);
  return {
    samples: SAMPLES,
    fullLetterMs: rounded(f),
    directLetterMs: rounded(d),
    fullBackspaceMs: rounded(fb),
    directBackspaceMs: rounded(db),
    medianRatio: Math.round((f.p50 / d.p50) * 100) / 100,
    serverAddsMedianMs: Math.round(added * 1000) / 1000,
    targetMet: added < TARGET_ADDED_MS,
    leftoverContainers: leftovers,
  };
}
