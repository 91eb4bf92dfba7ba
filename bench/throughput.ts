/**
 * Output throughput and flow control, with the server as a child process so its memory is its own.
 *   1. flood: 200 MB of output to a page that acks promptly; MB/s from first to last byte and the
 *      server's RSS growth (sampled every 100 ms).
 *   2. Ctrl-C during a flood (`yes`): time until the prompt is back.
 *   3. a slow page acking 1 MB/s for ~20 s of `yes`: the output it has received but not acked
 *      (`received - acked`, which the server holds to its 2 MiB high watermark plus one chunk),
 *      the server's RSS, then Ctrl-C and the time to the prompt while still reading slowly.
 */
import * as pty from 'node-pty';
import type { SessionCreated } from '../common/api.js';
import { HIGH_WATERMARK } from '../server/src/terminal/flow-control.js';
import { apiClient } from '../test/utils/api.js';
import { MemorySampler, startChildServer, type BenchServer } from './support/bench-server.js';
import { atPrompt, hostContainerId, LAB, openShell, stringEnv, type OpenShell } from './support/shell.js';
import { mb, mib, ms, sleep } from './support/stats.js';

const FLOOD_BYTES = 200_000_000;
const FLOOD_LINE = 200;
const FLOOD_TIMEOUT_MS = 300_000;
const TARGET_MB_PER_S = 20;
const TARGET_GROWTH_BYTES = 64 * 1024 * 1024;
const SLOW_ACK_BYTES_PER_S = 1_000_000;
const SLOW_ACK_TICK_MS = 100;
const SLOW_SECONDS = 20;
/** Ctrl-C has this long to bring the prompt back to a slow page; then the page catches up at full speed. */
const CTRL_C_TIMEOUT_MS = 60_000;
const TAIL = 1024;

/** 'X' is written as \130 so the typed command's own echo holds no X; the marker is computed for the same reason. */
const FLOOD_COMMAND = `head -c ${FLOOD_BYTES} /dev/zero | tr '\\0' '\\130' | fold -w ${FLOOD_LINE}; echo FLOOD-$((6*7))-END`;

/**
 * The ceiling: the same flood through `docker exec -it` read by node-pty in this process, with no
 * server, no WebSocket and no JSON. The server cannot be faster than this path it is built on.
 */
async function directFlood(containerId: string): Promise<{ mbPerSecond: number }> {
  const p = pty.spawn('docker', ['exec', '-it', '-e', 'TERM=xterm-256color', containerId, 'sh', '-c', FLOOD_COMMAND], {
    name: 'xterm-256color',
    cols: 120,
    rows: 40,
    env: stringEnv(),
  });
  let bytes = 0;
  let first = 0;
  let last = 0;
  p.onData((d) => {
    const now = performance.now();
    if (first === 0 && d.includes('X')) first = now;
    else if (first !== 0) bytes += d.length;
    last = now;
  });
  const exited = await Promise.race([new Promise<true>((resolve) => p.onExit(() => resolve(true))), sleep(FLOOD_TIMEOUT_MS).then(() => false as const)]);
  if (!exited) {
    p.kill();
    throw new Error(`the direct docker exec flood did not end within ${FLOOD_TIMEOUT_MS} ms`);
  }
  const rate = bytes / ((last - first) / 1000) / 1e6;
  console.log(`throughput: direct docker exec read by node-pty (no server): ${rate.toFixed(1)} MB/s from first to last byte`);
  return { mbPerSecond: Math.round(rate * 10) / 10 };
}

/** Phase 1: the big output to a prompt reader. */
async function flood(server: BenchServer, shell: OpenShell): Promise<Record<string, unknown>> {
  const { client, watch } = shell;
  let maxUnacked = 0;
  let frames = 0;
  const track = () => {
    frames++;
    maxUnacked = Math.max(maxUnacked, client.received - client.acked);
  };
  client.ws.on('message', track);
  const memory = new MemorySampler(() => server.memory(), 100);
  const mark = watch.received;
  const entered = performance.now();
  client.send(`${FLOOD_COMMAND}\r`);
  try {
    const first = await watch.until((w) => w.since(mark).includes('X'), 30_000, 'the first byte of the flood');
    const bytesAtFirst = watch.received;
    const last = await watch.until((w) => w.tail.includes('FLOOD-42-END'), FLOOD_TIMEOUT_MS, 'the end-of-flood marker');
    const bytesAtLast = watch.received;
    await watch.until(atPrompt, 30_000, 'the prompt after the flood');
    const mem = memory.stop();
    const seconds = (last - first) / 1000;
    const rate = (bytesAtLast - bytesAtFirst) / seconds / 1e6;
    console.log(`throughput: ${mb(bytesAtLast - mark)} of output (${FLOOD_BYTES / 1e6} MB of X in ${FLOOD_LINE}-column lines, \\r\\n added by the pty)`);
    console.log(
      `throughput: ${rate.toFixed(1)} MB/s from first to last byte (${seconds.toFixed(2)} s); ${((bytesAtLast - mark) / ((last - entered) / 1000) / 1e6).toFixed(1)} MB/s from Enter (target >= ${TARGET_MB_PER_S} MB/s: ${rate >= TARGET_MB_PER_S ? 'met' : 'NOT met'})`,
    );
    console.log(
      `throughput: server RSS ${mib(memory.baseline.rssBytes)} before, peak ${mib(mem.peakRssBytes)} (growth ${mib(mem.rssGrowthBytes)} over ${memory.samples} samples), VmHWM growth ${mib(mem.hwmGrowthBytes)} (target < ${mib(TARGET_GROWTH_BYTES)}: ${Math.max(mem.rssGrowthBytes, mem.hwmGrowthBytes) < TARGET_GROWTH_BYTES ? 'met' : 'NOT met'})`,
    );
    console.log(
      `throughput: ${frames} output frames, ${Math.round((bytesAtLast - mark) / frames)} code units each on average (largest ${watch.largestChunk}); the prompt reader held at most ${mib(maxUnacked)} unacknowledged`,
    );
    return {
      bytes: bytesAtLast - mark,
      mbPerSecond: Math.round(rate * 10) / 10,
      seconds: Math.round(seconds * 100) / 100,
      frames,
      rssBeforeMiB: Math.round(memory.baseline.rssBytes / 1048576),
      rssPeakMiB: Math.round(mem.peakRssBytes / 1048576),
      rssGrowthMiB: Math.round((mem.rssGrowthBytes / 1048576) * 10) / 10,
      hwmGrowthMiB: Math.round((mem.hwmGrowthBytes / 1048576) * 10) / 10,
      targetMet: rate >= TARGET_MB_PER_S && Math.max(mem.rssGrowthBytes, mem.hwmGrowthBytes) < TARGET_GROWTH_BYTES,
    };
  } catch (e) {
    client.send('\x03');
    memory.stop();
    throw e;
  } finally {
    client.ws.off('message', track);
  }
}

/** Ctrl-C into a running `yes`: how long until the prompt is back, and how much output still came. */
async function interrupt(shell: OpenShell, label: string, runBeforeMs: number): Promise<{ ms: number; drainedBytes: number }> {
  const { client, watch } = shell;
  client.send('\x03');
  const pressed = performance.now();
  const mark = watch.received;
  const back = await watch.until(atPrompt, CTRL_C_TIMEOUT_MS, `the prompt after Ctrl-C (${label})`);
  const result = { ms: Math.round(back - pressed), drainedBytes: watch.received - mark };
  console.log(
    `throughput: Ctrl-C after ${(runBeforeMs / 1000).toFixed(1)} s of yes (${label}): prompt back in ${ms(result.ms, 1)}, ${mib(result.drainedBytes)} of output still arrived after the keypress`,
  );
  return result;
}

/** Phase 2: Ctrl-C during a flood read at full speed. */
async function ctrlCFast(shell: OpenShell): Promise<Record<string, unknown>> {
  const { client, watch } = shell;
  const mark = watch.received;
  const started = performance.now();
  client.send('yes\r');
  await watch.until((w) => w.received - mark > 20_000_000, 30_000, '20 MB of yes');
  return interrupt(shell, 'page acking promptly', performance.now() - started);
}

/** Phase 3: a page that draws 1 MB/s. */
async function slowReader(server: BenchServer, shell: OpenShell): Promise<Record<string, unknown>> {
  const { client, watch } = shell;
  client.ackEvery = Infinity;
  let maxUnacked = 0;
  const track = () => (maxUnacked = Math.max(maxUnacked, client.received - client.acked));
  client.ws.on('message', track);
  const ackTimer = setInterval(() => client.ack(Math.min(client.received, client.acked + (SLOW_ACK_BYTES_PER_S * SLOW_ACK_TICK_MS) / 1000)), SLOW_ACK_TICK_MS);
  const memory = new MemorySampler(() => server.memory(), 100);
  const mark = watch.received;
  const started = performance.now();
  try {
    client.send('yes\r');
    console.log(
      `throughput: slow page acking ${SLOW_ACK_BYTES_PER_S / 1e6} MB/s, ${SLOW_SECONDS} s of yes; every 2 s: received, acked, received-acked, server RSS`,
    );
    for (let s = 2; s <= SLOW_SECONDS; s += 2) {
      await sleep(started + s * 1000 - performance.now());
      const rss = server.memory().rssBytes;
      console.log(
        `  t=${String(s).padStart(2)} s  received ${mb(client.received).padStart(9)}  acked ${mb(client.acked).padStart(9)}  unacked ${mib(client.received - client.acked).padStart(9)}  server RSS ${mib(rss)}`,
      );
    }
    const receivedBytes = watch.received - mark;
    const seconds = (performance.now() - started) / 1000;
    const ctrlC = await interrupt(shell, `page acking ${SLOW_ACK_BYTES_PER_S / 1e6} MB/s`, performance.now() - started);
    const mem = memory.stop();
    const bound = HIGH_WATERMARK + watch.largestChunk;
    console.log(
      `throughput: slow page received ${mb(receivedBytes)} in ${seconds.toFixed(1)} s (${(receivedBytes / seconds / 1e6).toFixed(2)} MB/s); max received-acked ${mib(maxUnacked)} (${maxUnacked} code units; high watermark ${HIGH_WATERMARK} + largest chunk ${watch.largestChunk} = ${bound}: ${maxUnacked <= bound ? 'within' : 'EXCEEDED'})`,
    );
    console.log(
      `throughput: server RSS during the slow page: before ${mib(memory.baseline.rssBytes)}, peak ${mib(mem.peakRssBytes)} (growth ${mib(mem.rssGrowthBytes)})`,
    );
    return {
      receivedBytes,
      mbPerSecond: Math.round((receivedBytes / seconds / 1e6) * 100) / 100,
      maxUnacked,
      highWatermark: HIGH_WATERMARK,
      largestChunk: watch.largestChunk,
      withinBound: maxUnacked <= bound,
      rssGrowthMiB: Math.round((mem.rssGrowthBytes / 1048576) * 10) / 10,
      ctrlCMs: ctrlC.ms,
      ctrlCDrainedBytes: ctrlC.drainedBytes,
    };
  } finally {
    clearInterval(ackTimer);
    memory.stop();
    client.ws.off('message', track);
    client.ack(client.received);
  }
}

export async function throughput(): Promise<Record<string, unknown>> {
  const server = await startChildServer('bench-tput');
  const api = apiClient(server.baseUrl);
  let session: SessionCreated | undefined;
  let shell: OpenShell | undefined;
  let leftovers = 0;
  const summary: Record<string, unknown> = { server: server.origin };
  try {
    session = await api.createSession(LAB);
    shell = await openShell(server.baseUrl, session, { keep: TAIL });
    console.log(`throughput: server pid ${server.pid} (${server.origin}), session ${session.id}`);
    summary.direct = await directFlood(await hostContainerId(server.serverName, session.id));
    summary.flood = await flood(server, shell);
    summary.ctrlCFast = await ctrlCFast(shell);
    // A fresh page for the slow phase, resuming where the fast one stopped: a page is slow or fast, not both.
    await shell.watch.quiet(300, 10_000);
    const from = shell.client.received;
    await shell.client.close();
    shell = await openShell(server.baseUrl, session, { keep: TAIL, resumeFrom: from });
    summary.slow = await slowReader(server, shell);
  } finally {
    await shell?.client.close();
    if (session) await api.remove(session);
    leftovers = await server.stop();
  }
  if (leftovers > 0) console.log(`throughput: ${leftovers} container(s) were left behind by the server and removed`);
  return { ...summary, leftoverContainers: leftovers };
}
