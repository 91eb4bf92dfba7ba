/**
 * A lab with a terminal in each of two hosts, over the real WebSocket on a real engine: the main
 * terminal is the first host's, `?host=` picks another, each is a shell of its own (terminal id,
 * output, replay buffer and offsets), an unknown host is refused before the upgrade naming the
 * terminals there are, the cap of sockets counts per host, and `ipvs-lab test` types a solution
 * line meant for the second host into that host's terminal. The fixture lab runs on a stock
 * Debian image: no IPVS needed.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SessionCreated } from '../../common/api.js';
import { PROJECT_ROOT } from '../../server/src/config.js';
import { Engine, LABEL_SESSION } from '../../server/src/runtime/docker/engine.js';
import { typeAndWait } from '../../server/src/client/type-and-wait.js';
import { apiClient } from '../utils/api.js';
import { runCli } from '../utils/cli.js';
import { countSessionContainers, dockerode, engineSkipReason, removeServerContainers } from '../utils/engine.js';
import { startLabServer, type RunningLabServer } from '../utils/lab-server.js';
import { TerminalClient, terminalUrl } from '../utils/terminal-client.js';

const skip = await engineSkipReason();
const LABS = path.join(PROJECT_ROOT, 'test', 'fixtures', 'labs-terminals');
const FIXTURE = 'test/fixtures/labs-terminals/two-hosts';

/** How a socket the server accepted and then closed ended: its close code and reason. */
function closed(term: TerminalClient): Promise<[number, string]> {
  return new Promise((resolve) => term.ws.once('close', (code, reason) => resolve([code, reason.toString()])));
}

/**
 * A line the shell printed: bash starts it after `\r\n` or after the `\x1b[?2004l\r` that ends
 * bracketed paste, and ends it with `\r\n` (typeAndWait's answer stops before the `\n`).
 */
const line = (text: string) => new RegExp(`[\\r\\n]${text}\\r`);

async function eventually(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a session with a terminal in each of two hosts', { skip }, () => {
  let lab: RunningLabServer;
  let api: ReturnType<typeof apiClient>;
  let session: SessionCreated;
  /** A socket to `host`'s terminal (the main one when undefined), its `ready` awaited. */
  const open = async (host: string | undefined, hello: { resumeFrom?: number; terminal?: string } = {}) => {
    const term = await TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, session.token, host), { cols: 120, rows: 40, ...hello });
    const ready = await term.nextMessage('ready');
    return { term, ready };
  };
  const pages = () => lab.server.terminalGateway.pageCount(session.id);

  before(async () => {
    // The cap is 2 sockets per terminal for the whole file; no test but the cap's opens more than 2 on one host.
    lab = await startLabServer({ labsDir: LABS, requireIpvs: false, maxPagesPerSession: 2 });
    api = apiClient(lab.baseUrl);
    session = await api.createSession('two-hosts');
  });
  after(async () => {
    await lab?.stop();
  });

  it('lists the terminals main first; the main one is the first host, the second host has its own shell', async () => {
    assert.equal(lab.config.maxPagesPerSession, 2);
    assert.deepEqual((await api.state(session)).terminals, ['host', 'client']);

    const main = await open(undefined);
    const onHost = await open('host');
    const onClient = await open('client');
    try {
      assert.match(main.ready.terminal, /^[0-9a-f]+$/);
      assert.equal(onHost.ready.terminal, main.ready.terminal, '?host=host is the main terminal');
      assert.notEqual(onClient.ready.terminal, main.ready.terminal, '?host=client is another terminal');
      await main.term.waitFor(/root@host/);
      await onClient.term.waitFor(/root@client/);

      // The main socket and the ?host=host socket are pages of one shell: both see what either types.
      assert.match(await typeAndWait(main.term, 'hostname'), line('host'));
      assert.match(await typeAndWait(onHost.term, 'echo from-$(hostname)-$((40+2))'), line('from-host-42'));
      await main.term.waitFor(line('from-host-42'));

      assert.match(await typeAndWait(onClient.term, 'hostname'), line('client'));
      assert.match(await typeAndWait(onClient.term, 'echo from-$(hostname)-$((40+2))'), line('from-client-42'));

      for (const t of [main.term, onHost.term]) {
        assert.ok(!t.output.includes('client'), `nothing of the client's terminal reaches the host's: ${JSON.stringify(t.output.slice(-300))}`);
      }
      assert.ok(!onClient.term.output.includes('root@host'), "the host's prompt never reaches the client's terminal");
      assert.ok(!onClient.term.output.includes('from-host-42'), "the host's output never reaches the client's terminal");
      assert.ok(!line('host').test(onClient.term.output), "the host's hostname never reaches the client's terminal");
      assert.equal(pages(), 3, 'pageCount sums over the hosts');
    } finally {
      await Promise.all([main.term.close(), onHost.term.close(), onClient.term.close()]);
    }
    await eventually('the server seeing the sockets closed', () => pages() === 0);
  });

  it('refuses a host without a terminal with 404 naming the terminals, after the credentials', async () => {
    const target = (host: string, token = session.token) => TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, token, host));
    await assert.rejects(target('nope'), {
      message: `upgrade refused: 404 session ${session.id} has no terminal on "nope"; terminals: host, client`,
    });
    await assert.rejects(target(''), /^Error: upgrade refused: 404 .* has no terminal on ""; terminals: host, client$/);
    await assert.rejects(target('HOST'), /upgrade refused: 404 .*; terminals: host, client$/, 'host names are matched exactly');
    // A wrong token learns nothing about the session's hosts.
    await assert.rejects(target('nope', 'wrong'), /^Error: upgrade refused: 403 wrong token for session/);
    assert.equal(pages(), 0);
  });

  it('caps the sockets per host: two on each are accepted, a third on one is closed naming that host', async () => {
    const opened = [await open(undefined), await open('host'), await open('client'), await open('client')].map((o) => o.term);
    try {
      assert.equal(pages(), 4, 'two on host and two on client');
      const extra = await TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, session.token, 'client'), null);
      assert.deepEqual(await closed(extra), [1013, 'this session already has 2 terminal pages open on client; close one and reload']);
      const extraMain = await TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, session.token), null);
      assert.deepEqual(
        await closed(extraMain),
        [1013, 'this session already has 2 terminal pages open on host; close one and reload'],
        'the main terminal is counted as host',
      );
      assert.equal(pages(), 4);

      // A place freed on client is client's to take again.
      await opened.pop()!.close();
      await eventually('the server seeing the client socket closed', () => pages() === 3);
      const replacement = await open('client');
      opened.push(replacement.term);
      assert.equal(pages(), 4);
    } finally {
      await Promise.all(opened.map((t) => t.close()));
    }
    await eventually('the server seeing the sockets closed', () => pages() === 0);
  });

  it("resumes the client's terminal from its own offset, replaying only the client's output", async () => {
    const client = await open('client');
    const clientId = client.ready.terminal;
    assert.match(await typeAndWait(client.term, 'echo client-before-$((20+3))'), line('client-before-23'));
    const seen = client.term.received;
    await client.term.close();

    // While that page is away, the host's shell and another page of the client's print more.
    const host = await open('host');
    const hostId = host.ready.terminal;
    assert.notEqual(hostId, clientId);
    assert.match(await typeAndWait(host.term, 'echo host-while-away-$((30+4))'), line('host-while-away-34'));
    const hostSeen = host.term.received;
    await host.term.close();
    const other = await open('client');
    assert.match(await typeAndWait(other.term, 'echo client-while-away-$((50+6))'), line('client-while-away-56'));
    await other.term.close();

    const resumed = await open('client', { terminal: clientId, resumeFrom: seen });
    try {
      assert.equal(resumed.ready.terminal, clientId);
      assert.equal(resumed.ready.offset, seen, 'output starts where the page left off');
      await resumed.term.waitFor(line('client-while-away-56'));
      const firstOutput = resumed.term.messages.find((m) => m.type === 'output');
      assert.equal(firstOutput?.type === 'output' && firstOutput.offset, seen);
      assert.ok(!resumed.term.messages.some((m) => m.type === 'gap'), 'no gap: the replay buffer holds it all');
      assert.ok(!resumed.term.output.includes('client-before-23'), 'nothing before resumeFrom is sent again');
      assert.ok(!resumed.term.output.includes('host-while-away-34'), "the host's output is not in the client's replay");
      assert.ok(!resumed.term.output.includes('root@host'), "the host's prompt is not in the client's replay");
      assert.match(await typeAndWait(resumed.term, 'echo client-after-$((1+1))'), line('client-after-2'));
    } finally {
      await resumed.term.close();
    }

    // The host's terminal id with the client's terminal: the offset belongs to another terminal, so it is ignored.
    const wrongId = await open('client', { terminal: hostId, resumeFrom: seen });
    try {
      assert.equal(wrongId.ready.terminal, clientId);
      assert.equal(wrongId.ready.offset, 0, "the client's output from its start");
      await wrongId.term.waitFor(line('client-after-2'));
      for (const marker of ['client-before-23', 'client-while-away-56']) assert.match(wrongId.term.output, line(marker));
      assert.ok(!wrongId.term.output.includes('host-while-away-34'));
    } finally {
      await wrongId.term.close();
    }

    // And the reverse: the host's terminal resumed with its own id replays only the host's output.
    const hostResumed = await open('host', { terminal: hostId, resumeFrom: 0 });
    try {
      assert.equal(hostResumed.ready.terminal, hostId);
      await hostResumed.term.waitFor(line('host-while-away-34'));
      assert.ok(hostResumed.term.received >= hostSeen);
      assert.ok(!/client-(before|while-away|after)-\d/.test(hostResumed.term.output), "the client's output is not in the host's replay");
      assert.ok(!hostResumed.term.output.includes('root@client'));
    } finally {
      await hostResumed.term.close();
    }
    await eventually('the server seeing the sockets closed', () => pages() === 0);
  });
});

describe('ipvs-lab test on a lab with two terminals', { skip }, () => {
  it("types the client's solution line into the client's terminal, and the step passes", async () => {
    // --keep, to look into the containers afterwards: the file must be in client, written by client's shell, and not in host.
    const run = runCli(['test', '--keep', FIXTURE], { IPVS_LAB_REQUIRE_IPVS: 'false' });
    const code = await run.exit;
    const out = run.output();
    const id = /session ([0-9a-f]+) ready/.exec(out)?.[1];
    const serverName = /docker exec -it ipvs-lab-(cli-[0-9a-f]+)-[0-9a-f]+-host bash/.exec(out)?.[1];
    try {
      assert.equal(code, 0, out);
      assert.ok(id, out);
      assert.match(out, /two-hosts: starting a session \(host, client\)/);
      assert.match(out, /PASS two-hosts\/from-client /);
      assert.match(out, /^PASS two-hosts in /m);
      assert.match(out, /^1 passed, 0 failed/m);

      const docker = await dockerode();
      const containers = await docker.listContainers({ all: true, filters: { label: [`${LABEL_SESSION}=${id}`] } });
      const named = (host: string) => containers.find((c) => c.Names.some((n) => n.endsWith(`-${id}-${host}`)))?.Id;
      const [hostId, clientId] = [named('host'), named('client')];
      assert.ok(hostId && clientId, `the kept containers: ${JSON.stringify(containers.map((c) => c.Names))}`);
      const engine = await Engine.connect(process.env.DOCKER_HOST ?? 'the default Docker socket');
      const inClient = await engine.exec(clientId, ['cat', '/tmp/seen-by-client'], 30_000);
      assert.deepEqual([inClient.exitCode, inClient.stdout], [0, 'client\n'], 'the line ran in client, whose hostname it wrote');
      const inHost = await engine.exec(hostId, ['test', '-e', '/tmp/seen-by-client'], 30_000);
      assert.equal(inHost.exitCode, 1, 'nothing was typed into the host for it');
    } finally {
      if (serverName) await removeServerContainers(serverName);
    }
    if (id) assert.equal(await countSessionContainers(id), 0);
  });
});
