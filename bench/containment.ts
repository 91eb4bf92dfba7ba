/**
 * What one learner can do to the others, with the server's default limits: a fork storm in one
 * session (how many processes it gets, and another session's keystroke echo before and during
 * it), a memory hog (killed, or not), and a page that acks everything but never reads its
 * socket while its shell runs `yes` (the server's RSS growth).
 */
import type { SessionCreated } from '../common/api.js';
import { encode } from '../common/protocol.js';
import { TerminalClient, terminalUrl } from '../server/src/client/terminal-client.js';
import { typeAndWait } from '../server/src/client/type-and-wait.js';
import { containerName } from '../server/src/runtime/docker/container-spec.js';
import { apiClient } from '../test/utils/api.js';
import { sampleEcho } from '../test/utils/echo.js';
import { dockerode } from '../test/utils/engine.js';
import { MemorySampler, startChildServer } from './support/bench-server.js';
import { LAB } from './support/shell.js';
import { mib, ms, rounded, sleep, summarize } from './support/stats.js';

const ECHO_SAMPLES = 100;
const STORM_SECONDS = 20;
const NON_READING_SECONDS = 15;

export async function containment(): Promise<Record<string, unknown>> {
  // Pings would drop the non-reading page within seconds: set them far apart to see the backlog bound alone.
  const server = await startChildServer('bench-contain', { IPVS_LAB_PING_SECONDS: '300' });
  const api = apiClient(server.baseUrl);
  const clients: TerminalClient[] = [];
  const sessions: SessionCreated[] = [];
  try {
    const [victim, bystander] = await Promise.all([api.createSession(LAB), api.createSession(LAB)]);
    sessions.push(victim, bystander);
    const storm = await TerminalClient.connect(terminalUrl(server.baseUrl, victim.id, victim.token));
    const other = await TerminalClient.connect(terminalUrl(server.baseUrl, bystander.id, bystander.token));
    clients.push(storm, other);
    await Promise.all([storm.waitFor(/root@host/), other.waitFor(/root@host/)]);
    await typeAndWait(other, 'true');
    const before = summarize(await sampleEcho(other, ECHO_SAMPLES));

    const docker = await dockerode();
    const host = docker.getContainer(containerName({ serverName: server.serverName, sessionId: victim.id }, 'host', 'learner'));
    const { HostConfig } = await host.inspect();
    storm.send(`timeout ${STORM_SECONDS} bash -c 'for i in $(seq 1 3000); do sleep ${STORM_SECONDS + 10} & done' 2>/dev/null; echo storm-over\r`);
    await sleep(3000);
    const during = summarize(await sampleEcho(other, ECHO_SAMPLES));
    const processes = ((await host.top()) as { Processes: unknown[] }).Processes.length;
    await storm.waitFor(/[\r\n]storm-over\r\n/, (STORM_SECONDS + 30) * 1000);
    console.log(
      `containment: fork storm got ${processes} processes (pids limit ${HostConfig.PidsLimit}); the other session's echo p50/p99 ${ms(before.p50)}/${ms(before.p99)} before, ${ms(during.p50)}/${ms(during.p99)} during`,
    );
    for (let i = 0; i < 60 && ((await host.top()) as { Processes: unknown[] }).Processes.length > 10; i++) await sleep(1000);

    const hog = await typeAndWait(storm, `head -c ${2 * (HostConfig.Memory ?? 0)} /dev/zero | tail > /dev/null; echo "hog rc=$?"`, 120_000);
    const hogKilled = /hog rc=137/.test(hog);
    console.log(
      `containment: a memory hog of twice the ${mib(HostConfig.Memory ?? 0)} limit was ${hogKilled ? 'killed (137)' : 'NOT killed'}; the shell lives on`,
    );

    // A page that claims to have drawn everything and reads nothing.
    const target = terminalUrl(server.baseUrl, victim.id, victim.token);
    const page = await TerminalClient.connect(target, { cols: 120, rows: 40 });
    clients.push(page);
    await page.nextMessage('ready');
    page.send('yes "a line of output nobody reads"\r');
    (page.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const memory = new MemorySampler(() => server.memory(), 100);
    const acks = setInterval(() => page.sendRaw(encode({ type: 'ack', offset: Number.MAX_SAFE_INTEGER })), 20);
    await sleep(NON_READING_SECONDS * 1000);
    clearInterval(acks);
    const mem = memory.stop();
    console.log(
      `containment: a page that acks everything and reads nothing, for ${NON_READING_SECONDS} s of yes: server RSS ${mib(memory.baseline.rssBytes)} before, peak growth ${mib(mem.rssGrowthBytes)}`,
    );
    page.ws.terminate();
    return {
      pidsLimit: HostConfig.PidsLimit,
      stormProcesses: processes,
      echoBeforeMs: rounded(before),
      echoDuringStormMs: rounded(during),
      hogKilled,
      nonReadingPageRssGrowthMiB: Math.round((mem.rssGrowthBytes / 1048576) * 10) / 10,
    };
  } finally {
    for (const c of clients) c.ws.terminate();
    await Promise.all(sessions.map((s) => api.remove(s).catch(() => 0)));
    await server.stop();
  }
}
