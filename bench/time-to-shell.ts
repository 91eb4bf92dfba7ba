/**
 * Time to shell: from `POST /api/sessions` to the first prompt byte over the WebSocket, as a
 * learner pressing "Start this lab" lives it. Sessions run one after another, each deleted before
 * the next starts, so every figure is an idle server's.
 */
import type { SessionCreated } from '../common/api.js';
import { TerminalClient, terminalUrl } from '../server/src/client/terminal-client.js';
import { apiClient } from '../test/utils/api.js';
import { startInProcessServer } from './support/bench-server.js';
import { watchClient } from './support/output-watch.js';
import { LAB } from './support/shell.js';
import { ms, rounded, summarize } from './support/stats.js';

const SESSIONS = 10;

export async function timeToShell(): Promise<Record<string, unknown>> {
  const server = await startInProcessServer('bench-tts');
  const api = apiClient(server.baseUrl);
  const created: number[] = [];
  const totals: number[] = [];
  let leftovers = 0;
  try {
    console.log(`time-to-shell: ${SESSIONS} sessions of ${LAB}, one at a time (server in this process, name ${server.serverName})`);
    for (let i = 1; i <= SESSIONS; i++) {
      let session: SessionCreated | undefined;
      let client: TerminalClient | undefined;
      try {
        const t0 = performance.now();
        session = await api.createSession(LAB);
        const t201 = performance.now();
        client = await TerminalClient.connect(terminalUrl(server.baseUrl, session.id, session.token), { cols: 120, rows: 40 });
        const tPrompt = await watchClient(client).until((w) => w.tail.includes('root@host'), 30_000, `the prompt of session ${session.id}`);
        created.push(t201 - t0);
        totals.push(tPrompt - t0);
        console.log(
          `  session ${String(i).padStart(2)}/${SESSIONS} ${session.id}: 201 after ${ms(t201 - t0, 1)}, prompt over the WebSocket +${ms(tPrompt - t201, 1)}, total ${ms(tPrompt - t0, 1)}`,
        );
      } finally {
        await client?.close();
        if (session) await api.remove(session);
      }
    }
  } finally {
    leftovers = await server.stop();
  }
  if (leftovers > 0) console.log(`time-to-shell: ${leftovers} container(s) were left behind by the server and removed`);
  const total = summarize(totals);
  const post = summarize(created);
  console.log(
    `time-to-shell: total median ${ms(total.p50, 1)}, p95 ${ms(total.p95, 1)} (min ${ms(total.min, 1)}, max ${ms(total.max, 1)}); POST alone median ${ms(post.p50, 1)}`,
  );
  return {
    sessions: SESSIONS,
    totalMs: rounded(total, 1),
    postMs: rounded(post, 1),
    samplesMs: totals.map((t) => Math.round(t)),
    leftoverContainers: leftovers,
  };
}
