/**
 * A classroom on one small machine: many sessions at once (BENCH_CLASSROOM_SESSIONS, default 30),
 * each with a headless page typing `echo <session>-<n>` once a second for
 * BENCH_CLASSROOM_SECONDS (default 120). Measures session creation (6 at a time), the time until a
 * typed line's echo appears and until its output line appears, the server's memory (child
 * process), and at the end checks that every session printed every line exactly once, in order,
 * and is back at its prompt: no keystroke and no output lost under load.
 */
import type { SessionCreated } from '../common/api.js';
import { apiClient } from '../test/utils/api.js';
import { countLabelled } from '../test/utils/engine.js';
import { MemorySampler, startChildServer } from './support/bench-server.js';
import { atPrompt, deleteSessions, LAB, openShell, pool, type OpenShell } from './support/shell.js';
import { positiveInteger } from './support/settings.js';
import { mib, ms, rounded, sleep, summarize } from './support/stats.js';

const CREATE_CONCURRENCY = 6;
const COMMAND_TIMEOUT_MS = 15_000;
const TARGET_ECHO_P99_MS = 50;
/** Output kept per session for the final check; a session prints far less (about 100 B a line). */
const KEEP_PER_SESSION = 4 * 1024 * 1024;

interface TypistResult {
  readonly echoMs: number[];
  readonly outputMs: number[];
  readonly failures: string[];
  /** Commands sent later than their second because the one before took longer. */
  late: number;
}

// eslint-disable-next-line no-control-regex -- matching terminal escape sequences is the point
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** One learner: types a line every second, from `startAt`, and times its echo and its output. */
async function typist(shell: OpenShell, id: string, commands: number, startAt: number): Promise<TypistResult> {
  const { client, watch } = shell;
  const result: TypistResult = { echoMs: [], outputMs: [], failures: [], late: 0 };
  for (let n = 1; n <= commands; n++) {
    const wait = startAt + (n - 1) * 1000 - performance.now();
    if (wait > 0) await sleep(wait);
    else if (n > 1) result.late++;
    const tag = `${id}-${n}`;
    const outputLine = new RegExp(`[\\r\\n]${tag}\\r\\n`);
    const mark = watch.received;
    const sent = performance.now();
    client.send(`echo ${tag}\r`);
    try {
      const echoed = await watch.until((w) => w.since(mark).includes(`echo ${tag}`), COMMAND_TIMEOUT_MS, `the echo of "echo ${tag}"`);
      const printed = await watch.until((w) => outputLine.test(w.since(mark)), COMMAND_TIMEOUT_MS, `the output line ${tag}`);
      result.echoMs.push(echoed - sent);
      result.outputMs.push(printed - sent);
    } catch (e) {
      result.failures.push((e as Error).message.split(';')[0]!);
    }
  }
  return result;
}

/** Problems with one session's whole output: every `<id>-<n>` line exactly once, in order, then a prompt. */
function verify(shell: OpenShell, id: string, commands: number): string[] {
  const { watch } = shell;
  if (watch.received > KEEP_PER_SESSION) return [`${id}: printed ${watch.received} code units, more than the ${KEEP_PER_SESSION} kept for this check`];
  const own = new RegExp(`^${id}-(\\d+)$`);
  const seen = watch.tail
    .split(/[\r\n]+/)
    .map((line) => own.exec(line.replace(ANSI, '')))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  const problems: string[] = [];
  const expected = Array.from({ length: commands }, (_, i) => i + 1);
  if (seen.join(',') !== expected.join(',')) {
    const missing = expected.filter((n) => !seen.includes(n));
    const repeated = seen.filter((n, i) => seen.indexOf(n) !== i);
    problems.push(
      `${id}: output lines ${seen.length}/${commands}; missing [${missing.join(',')}], repeated [${repeated.join(',')}]${missing.length + repeated.length === 0 ? ', out of order' : ''}`,
    );
  }
  if (!atPrompt(watch)) problems.push(`${id}: not at a prompt at the end; last output ${JSON.stringify(watch.tail.slice(-120))}`);
  return problems;
}

export async function classroom(): Promise<Record<string, unknown>> {
  const count = positiveInteger('BENCH_CLASSROOM_SESSIONS', 30, 200);
  const seconds = positiveInteger('BENCH_CLASSROOM_SECONDS', 120, 3600);
  const server = await startChildServer('bench-class', { IPVS_LAB_MAX_SESSIONS: String(Math.max(40, count)) });
  const api = apiClient(server.baseUrl);
  const memory = new MemorySampler(() => server.memory(), 250);
  const created: SessionCreated[] = [];
  const shells: OpenShell[] = [];
  try {
    console.log(
      `classroom: ${count} sessions, ${seconds} commands each (one a second); server pid ${server.pid} (${server.origin}), RSS at idle ${mib(memory.baseline.rssBytes)}`,
    );

    const createMs = new Array<number>(count).fill(NaN);
    const createStart = performance.now();
    const sessions = await pool(Array.from({ length: count }), CREATE_CONCURRENCY, async (_, i) => {
      const t = performance.now();
      const s = await api.createSession(LAB);
      created.push(s);
      createMs[i] = performance.now() - t;
      return s;
    });
    const createWall = performance.now() - createStart;
    const create = summarize(createMs);
    const containers = (await countLabelled({ server: server.serverName })).containers;
    console.log(
      `classroom: created ${count} sessions ${CREATE_CONCURRENCY} at a time in ${(createWall / 1000).toFixed(1)} s; each took median ${ms(create.p50, 0)}, p95 ${ms(create.p95, 0)}, max ${ms(create.max, 0)}; ${containers} containers running`,
    );
    const rssAfterCreate = server.memory().rssBytes;

    await pool(sessions, CREATE_CONCURRENCY, async (s, i) => {
      shells[i] = await openShell(server.baseUrl, s, { keep: KEEP_PER_SESSION });
    });
    console.log(`classroom: ${shells.length} pages connected and at their prompt; typing for ${seconds} s`);

    // Spread the learners over the second, as a real class is not in lockstep.
    const start = performance.now() + 500;
    const progress = setInterval(() => {
      const m = server.memory();
      console.log(`  t=${((performance.now() - start) / 1000).toFixed(0).padStart(4)} s  server RSS ${mib(m.rssBytes)}`);
    }, 30_000);
    let results: TypistResult[];
    try {
      results = await Promise.all(sessions.map((s, i) => typist(shells[i]!, s.id, seconds, start + (i * 1000) / count)));
    } finally {
      clearInterval(progress);
    }
    // The last lines' prompts may still be on their way.
    await Promise.all(shells.map((sh) => sh.watch.until(atPrompt, 10_000, 'the final prompt').catch(() => undefined)));
    const mem = memory.stop();

    const echo = summarize(results.flatMap((r) => r.echoMs));
    const output = summarize(results.flatMap((r) => r.outputMs));
    const failures = results.flatMap((r) => r.failures);
    const problems = sessions.flatMap((s, i) => verify(shells[i]!, s.id, seconds));
    const late = results.reduce((a, r) => a + r.late, 0);
    console.log(
      `classroom: echo of the typed line: p50 ${ms(echo.p50)}, p99 ${ms(echo.p99)}, max ${ms(echo.max)} over ${echo.n} lines (target p99 < ${TARGET_ECHO_P99_MS} ms: ${echo.p99 < TARGET_ECHO_P99_MS ? 'met' : 'NOT met'})`,
    );
    console.log(`classroom: output line:            p50 ${ms(output.p50)}, p99 ${ms(output.p99)}, max ${ms(output.max)}`);
    console.log(
      `classroom: ${count * seconds - failures.length}/${count * seconds} lines answered within ${COMMAND_TIMEOUT_MS / 1000} s; ${late} sent late; every session's output complete, in order and back at a prompt: ${problems.length === 0 ? 'yes' : 'NO'}`,
    );
    for (const f of [...failures, ...problems].slice(0, 10)) console.log(`  problem: ${f}`);
    console.log(
      `classroom: server RSS idle ${mib(memory.baseline.rssBytes)}, after creating ${mib(rssAfterCreate)}, peak ${mib(mem.peakRssBytes)}, VmHWM ${mib(mem.final.hwmBytes)}; ${containers} containers for ${count} sessions`,
    );
    return {
      sessions: count,
      seconds,
      createWallSeconds: Math.round(createWall / 100) / 10,
      createMs: rounded(create, 0),
      echoMs: rounded(echo),
      outputMs: rounded(output),
      targetMet: echo.p99 < TARGET_ECHO_P99_MS,
      linesAnswered: count * seconds - failures.length,
      linesLate: late,
      complete: problems.length === 0 && failures.length === 0,
      problems: [...failures, ...problems].slice(0, 10),
      rssIdleMiB: Math.round(memory.baseline.rssBytes / 1048576),
      rssPeakMiB: Math.round(mem.peakRssBytes / 1048576),
      vmHwmMiB: Math.round(mem.final.hwmBytes / 1048576),
      containers,
    };
  } finally {
    memory.stop();
    await Promise.all(shells.filter(Boolean).map((sh) => sh.client.close()));
    const removing = performance.now();
    await deleteSessions(server.baseUrl, created).catch((e: Error) => console.log(`classroom: deleting sessions failed: ${e.message}`));
    console.log(`classroom: deleted ${created.length} sessions in ${((performance.now() - removing) / 1000).toFixed(1)} s`);
    const leftovers = await server.stop();
    if (leftovers > 0) console.log(`classroom: ${leftovers} container(s) were left behind and removed`);
  }
}
