/**
 * What the live IPVS panel costs. (a) A classroom of open panels: BENCH_PANEL_SESSIONS sessions
 * (default 30), each with its panel stream open for BENCH_PANEL_SECONDS (default 20): readings per
 * second over all sessions and per panel (from the engine's own exec events for the checkers), and
 * the server's CPU time; then the same time with every panel closed, which must run nothing.
 * (b) On an engine with IPVS, how long a change to the table takes to reach an open panel: an
 * `ipvsadm -A` run in the learner's container, to the event that shows the service.
 * (c) On an engine with IPVS, whether the panel's traffic view has the order the requests were
 * made in: BENCH_PANEL_ORDER_ROUNDS (default 12) rounds of ten sequential curls to a fresh rr
 * service, each compared with the order curl printed the replies in, and how many of them
 * straddled Linux's ten-second shuffle of the client port.
 */
import { readFileSync } from 'node:fs';
import type { ServerStatus, SessionCreated } from '../common/api.js';
import { Engine } from '../server/src/runtime/docker/engine.js';
import { loadConfig } from '../server/src/config.js';
import { apiClient } from '../test/utils/api.js';
import { checkerExecs, openPanel, type OpenPanel } from '../test/utils/panel.js';
import { startChildServer } from './support/bench-server.js';
import { deleteSessions, hostContainerId, LAB, pool } from './support/shell.js';
import { positiveInteger } from './support/settings.js';
import { ms, rounded, sleep, summarize } from './support/stats.js';

const CREATE_CONCURRENCY = 6;
/** Changes timed in part (b). */
const CHANGES = 6;
/** Client ports further apart than this in one round of ten mean the port was shuffled (see connection-order.ts). */
const SHUFFLE_GAP = 512;

/** User plus system CPU time of a process so far, in ms (from /proc/<pid>/stat, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export async function panel(): Promise<Record<string, unknown>> {
  const sessions = positiveInteger('BENCH_PANEL_SESSIONS', 30, 200);
  const seconds = positiveInteger('BENCH_PANEL_SECONDS', 20, 600);
  const orderRounds = positiveInteger('BENCH_PANEL_ORDER_ROUNDS', 12, 200);
  const server = await startChildServer('bench-panel', { IPVS_LAB_MAX_SESSIONS: String(sessions + 1) });
  const api = apiClient(server.baseUrl);
  const created: SessionCreated[] = [];
  try {
    console.log(`  starting ${sessions} sessions of ${LAB}, ${CREATE_CONCURRENCY} at a time`);
    created.push(...(await pool(Array.from({ length: sessions }), CREATE_CONCURRENCY, () => api.createSession(LAB))));
    const ipvs = ((await (await fetch(`${server.baseUrl}/api/status`)).json()) as ServerStatus).engine?.ipvs === true;

    // (a) every panel open, then every panel closed
    const panels: OpenPanel[] = created.map((s) => openPanel(server.baseUrl, s));
    await Promise.all(panels.map((p) => p.table(() => true, 'a first table', 120_000).catch(() => p.events[0])));
    const unavailable = panels.filter((p) => p.events[0]?.type !== 'table').length;
    const cpuBefore = cpuMs(server.pid!);
    const readingsOpen = await checkerExecs(undefined, seconds * 1000);
    const cpuOpen = cpuMs(server.pid!) - cpuBefore;
    for (const p of panels) p.close();
    await Promise.all(panels.map((p) => p.done));
    await sleep(2000);
    const cpuClosedBefore = cpuMs(server.pid!);
    const readingsClosed = await checkerExecs(undefined, seconds * 1000);
    const cpuClosed = cpuMs(server.pid!) - cpuClosedBefore;
    const openPerSecond = readingsOpen / seconds;
    console.log(
      `  ${sessions} open panels for ${seconds} s: ${readingsOpen} readings, ${openPerSecond.toFixed(1)}/s in all, ${(openPerSecond / sessions).toFixed(2)}/s per panel` +
        `${unavailable ? ` (${unavailable} panels read "unavailable": this engine has no IPVS, so each reading stops at its first line)` : ''}`,
    );
    console.log(`  server CPU: ${ms(cpuOpen / seconds, 0)} per second with the panels open, ${ms(cpuClosed / seconds, 0)} per second with them closed`);
    console.log(`  with every panel closed: ${readingsClosed} readings in ${seconds} s`);

    // (b) a change to the table, to the open panel that shows it
    const latencies: number[] = [];
    const order = { rounds: 0, inOrder: 0, shuffled: 0, shuffledInOrder: 0 };
    if (ipvs) {
      const session = created[0]!;
      const engine = await Engine.connect(loadConfig().dockerHost);
      const host = engine.docker.getContainer(await hostContainerId(server.serverName, session.id));
      /** Runs `command` in the learner's host container; returns what it printed (with Docker's stream framing, fine for matching words). */
      const exec = async (command: string): Promise<string> => {
        const e = await host.exec({ Cmd: ['sh', '-c', command], AttachStdout: true, AttachStderr: true });
        const stream = await e.start({});
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        await new Promise((resolve) => stream.on('end', resolve));
        return Buffer.concat(chunks).toString('latin1');
      };
      await exec('apt-get install -y ipvsadm >/dev/null 2>&1');
      const open = openPanel(server.baseUrl, session);
      await open.table(() => true, 'a first table');
      for (let i = 0; i < CHANGES; i++) {
        const key = `TCP 10.99.0.${i + 1}:80`;
        const from = open.events.length;
        const sent = performance.now();
        await exec(`ipvsadm -A -t 10.99.0.${i + 1}:80 -s rr`);
        await open.table((t) => t.services.some((s) => s.key === key), key);
        const index = open.events.findIndex((e, n) => n >= from && e.type === 'table' && e.services.some((s) => s.key === key));
        latencies.push(open.arrivals[index]! - sent);
        await sleep(300);
      }
      const s = summarize(latencies);
      console.log(`  a change to the panel (ipvsadm -A exec included): median ${ms(s.p50, 0)}, p95 ${ms(s.p95, 0)}, max ${ms(s.max, 0)}`);

      // (c) the traffic view's order against the replies' order
      const { variables } = await api.state(session);
      const backends = new Map([
        [`${variables['nginx-1.ip']!}:80`, '1'],
        [`${variables['nginx-2.ip']!}:80`, '2'],
      ]);
      for (let i = 0; i < orderRounds; i++) {
        const vip = `${variables.vip!}:${9000 + i}`;
        await exec(
          `ipvsadm -A -t ${vip} -s rr && ipvsadm -a -t ${vip} -r ${variables['nginx-1.ip']!}:80 -m && ipvsadm -a -t ${vip} -r ${variables['nginx-2.ip']!}:80 -m`,
        );
        const replies = (await exec(`for i in $(seq 10); do curl -s ${vip}; done`)).match(/nginx (\d)/g)?.map((r) => r.slice(-1)) ?? [];
        const key = `TCP ${vip}`;
        const shown = await open.table((t) => (t.services.find((x) => x.key === key)?.recent.length ?? 0) >= 10, `ten connections to ${key}`);
        const recent = shown.services.find((x) => x.key === key)!.recent;
        const ports = recent.map((c) => Number(c.client.split(':').at(-1))).sort((a, b) => a - b);
        const shuffled = ports.some((p, n) => n > 0 && p - ports[n - 1]! > SHUFFLE_GAP);
        const inOrder = recent.map((c) => backends.get(c.server)).join('') === replies.join('') && replies.length === 10;
        order.rounds++;
        if (inOrder) order.inOrder++;
        if (shuffled) order.shuffled++;
        if (shuffled && inOrder) order.shuffledInOrder++;
        if (!inOrder) console.log(`  round ${i + 1}: replies ${replies.join(' ')}, panel ${recent.map((c) => backends.get(c.server) ?? c.server).join(' ')}`);
      }
      console.log(
        `  traffic view in the replies' order: ${order.inOrder} of ${order.rounds} rounds of ten curls; ${order.shuffled} rounds straddled a client port shuffle, ${order.shuffledInOrder} of them in order`,
      );
      open.close();
      await open.done;
    } else console.log('  (b) and (c) skipped: this engine has no IPVS (run it on `engine vm up`)');

    return {
      sessions,
      seconds,
      ipvs,
      readingsPerSecondOpen: rounded({ all: openPerSecond, perPanel: openPerSecond / sessions }),
      readingsClosed,
      serverCpuMsPerSecond: { open: Math.round(cpuOpen / seconds), closed: Math.round(cpuClosed / seconds) },
      ...(latencies.length > 0 && { changeToPanelMs: rounded(summarize(latencies), 0) }),
      ...(order.rounds > 0 && { order }),
    };
  } finally {
    await deleteSessions(server.baseUrl, created).catch(() => undefined);
    await server.stop();
  }
}
