/**
 * A server killed in the middle of a class: BENCH_RESTART_SESSIONS sessions (default 30) are
 * started, the server is killed with SIGKILL, and a new one with the same name and database is
 * started. Measures the time from the new process's start to "ready" (preflight plus re-adopting
 * every session), the restore step alone as the server logs it, and the time until every
 * session's page has reconnected and its fresh shell answered a command.
 */
import { rmSync } from 'node:fs';
import type { SessionCreated } from '../common/api.js';
import { apiClient } from '../test/utils/api.js';
import { tempStateDir, uniqueServerName } from '../test/utils/lab-server.js';
import { startChildServer, type BenchServer } from './support/bench-server.js';
import { owe } from './support/cleanup.js';
import { deleteSessions, LAB, openShell, pool } from './support/shell.js';
import { positiveInteger } from './support/settings.js';
import { ms, rounded, summarize } from './support/stats.js';

const CONCURRENCY = 6;

export async function restart(): Promise<Record<string, unknown>> {
  const count = positiveInteger('BENCH_RESTART_SESSIONS', 30, 200);
  const reuse = { serverName: uniqueServerName('bench-restart'), stateDir: tempStateDir() };
  const env = { IPVS_LAB_MAX_SESSIONS: String(Math.max(40, count)) };
  const forgetState = owe(() => Promise.resolve(rmSync(reuse.stateDir, { recursive: true, force: true })));
  let server: BenchServer | undefined;
  let sessions: SessionCreated[] = [];
  try {
    server = await startChildServer('bench-restart', env, reuse);
    const api = apiClient(server.baseUrl);
    const created = performance.now();
    sessions = await pool(Array.from({ length: count }), CONCURRENCY, () => api.createSession(LAB));
    console.log(`restart: ${count} sessions started in ${((performance.now() - created) / 1000).toFixed(1)} s; killing the server (SIGKILL)`);
    await server.kill();

    const started = performance.now();
    server = await startChildServer('bench-restart', env, reuse);
    const readyMs = performance.now() - started;
    const restored = /restored (\d+) session\(s\) in ([\d.]+) s/.exec(server.log());
    if (!restored || Number(restored[1]) !== count) throw new Error(`the new server did not restore ${count} sessions:\n${server.log()}`);
    const baseUrl = server.baseUrl;
    const backMs: number[] = [];
    await pool(sessions, CONCURRENCY, async (s, i) => {
      const t = performance.now();
      const shell = await openShell(baseUrl, s);
      try {
        const mark = shell.watch.received;
        shell.client.send(`echo back-$((${i}+1))\r`);
        await shell.watch.until((w) => new RegExp(`[\\r\\n]back-${i + 1}\\r\\n`).test(w.since(mark)), 30_000, `the answer of session ${s.id}`);
      } finally {
        await shell.client.close();
      }
      backMs.push(performance.now() - t);
    });
    const allBackMs = performance.now() - started;
    const back = summarize(backMs);
    console.log(
      `restart: new server ready in ${ms(readyMs, 0)} (restoring ${count} sessions took ${restored[2]} s of it); every page back with a fresh shell that answered after ${ms(allBackMs, 0)}`,
    );
    console.log(
      `restart: per session, reconnect to answer: median ${ms(back.p50, 0)}, p95 ${ms(back.p95, 0)}, max ${ms(back.max, 0)} (${CONCURRENCY} at a time)`,
    );
    return {
      sessions: count,
      readyMs: Math.round(readyMs),
      restoreSeconds: Number(restored[2]),
      allBackMs: Math.round(allBackMs),
      perSessionMs: rounded(back, 0),
    };
  } finally {
    if (server) {
      await deleteSessions(server.baseUrl, sessions).catch((e: Error) => console.log(`restart: deleting sessions failed: ${e.message}`));
      const leftovers = await server.stop();
      if (leftovers > 0) console.log(`restart: ${leftovers} container(s) were left behind and removed`);
    }
    await forgetState();
  }
}
