/**
 * A restart loses nothing: after SIGTERM, and after SIGKILL, the next server with the same name
 * takes every session back (same id, token, progress and containers, with what the learner made
 * in them), gives its page a fresh shell, and removes only what no session owns. `ipvs-lab down`
 * lets the sessions go, and a learner whose session is gone is told why.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { SessionCreated } from '../../common/api.js';
import { typeAndWait } from '../../server/src/client/type-and-wait.js';
import { containerName } from '../../server/src/runtime/docker/container-spec.js';
import { LABEL_MANAGED, LABEL_SERVER } from '../../server/src/runtime/docker/engine.js';
import { apiClient } from '../utils/api.js';
import { runCli } from '../utils/cli.js';
import { countLabelled, dockerode, engineSkipReason, removeServerContainers } from '../utils/engine.js';
import { tempStateDir, uniqueServerName } from '../utils/lab-server.js';
import { startServerProcess, type ServerProcess } from '../utils/server-process.js';
import { TerminalClient, terminalUrl } from '../utils/terminal-client.js';

const skip = await engineSkipReason();

describe('sessions survive a restart of the server', { skip }, () => {
  const serverName = uniqueServerName('restart');
  const stateDir = tempStateDir();
  const env = { IPVS_LAB_SERVER_NAME: serverName, IPVS_LAB_REQUIRE_IPVS: 'false', IPVS_LAB_STATE_DIR: stateDir };
  let server: ServerProcess | undefined;
  let kept: SessionCreated;
  let doomed: SessionCreated;

  const start = async () => {
    server = await startServerProcess(env);
    await server.waitForLog(/ready: sessions can start|cannot start sessions/);
    assert.match(server.log(), /ready: sessions can start/);
    return server;
  };
  const stop = async (signal: 'SIGTERM' | 'SIGKILL') => {
    const child = server!.child;
    child.kill(signal);
    const [code, sig] = (await once(child, 'exit')) as [number | null, string | null];
    server = undefined;
    return signal === 'SIGKILL' ? sig : code;
  };
  /** The session is back as it was: same token, same progress, its files, a shell that answers. */
  const assertRestored = async (s: ServerProcess, marker: string) => {
    const api = apiClient(s.baseUrl);
    const state = await api.state(kept);
    assert.deepEqual(
      state.steps.filter((x) => x.passed).map((x) => x.id),
      ['backends'],
      'the progress came back',
    );
    const term = await TerminalClient.connect(terminalUrl(s.baseUrl, kept.id, kept.token), { resumeFrom: 1_000_000, terminal: 'abcdef' });
    try {
      const ready = await term.nextMessage('ready');
      assert.equal(ready.offset, 0, 'offsets of the old terminal are not applied to the new one');
      await term.waitFor(/root@host/, 30_000);
      assert.match(await typeAndWait(term, 'cat /root/marker'), new RegExp(marker), 'what the learner made in the container is still there');
    } finally {
      await term.close();
    }
  };

  before(async () => {
    const s = await start();
    const api = apiClient(s.baseUrl);
    kept = await api.createSession('ipvs-intro');
    doomed = await api.createSession('ipvs-intro');
    assert.equal((await api.check(kept, 'backends')).passed, true);
    const term = await TerminalClient.connect(terminalUrl(s.baseUrl, kept.id, kept.token));
    await term.waitFor(/root@host/);
    await typeAndWait(term, 'echo made-before-the-restart > /root/marker');
    await term.close();
  });

  after(async () => {
    if (server) await stop('SIGKILL');
    await removeServerContainers(serverName);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('SIGTERM stops the server and leaves every session running', async () => {
    const before = await countLabelled({ server: serverName });
    assert.equal(await stop('SIGTERM'), 0);
    assert.deepEqual(await countLabelled({ server: serverName }), before);
    assert.equal(before.networks, 2);
  });

  it('the next start takes the sessions back and removes only what no session owns', async () => {
    // What a server killed halfway through starting a session leaves: labelled, owned by nobody.
    const docker = await dockerode();
    const orphan = await docker.createContainer({
      Image: 'nginx:1.23.2',
      Labels: { [LABEL_MANAGED]: 'true', [LABEL_SERVER]: serverName, 'io.ipvs-lab.session': 'orphan0001' },
    });
    // A session whose containers someone removed while the server was down cannot come back.
    await docker.getContainer(containerName({ serverName, sessionId: doomed.id }, 'nginx-1', 'learner')).remove({ force: true });
    // A checker is the server's own and may be gone too (never started, removed): it is made again.
    await docker.getContainer(containerName({ serverName, sessionId: kept.id }, 'host', 'checker')).remove({ force: true });

    const s = await start();
    assert.match(s.log(), /restored 1 session\(s\) in [\d.]+ s; 1 could not be restored/);
    assert.match(s.log(), /removed [1-9]\d* containers and 1 networks of server .* that no session owns/);
    await assert.rejects(docker.getContainer(orphan.id).inspect(), /no such container/i);
    assert.equal((await countLabelled({ server: serverName, session: doomed.id })).containers, 0);
    await assertRestored(s, 'made-before-the-restart');
    const check = await apiClient(s.baseUrl).call<{ passed: boolean; message: string }>('POST', `/api/sessions/${kept.id}/steps/service/check`, kept.token);
    assert.equal(check.status, 200);
    assert.match(check.body.message, /There is no virtual service yet|cannot read the IPVS table in host/, 'the check ran in a new checker');

    const lost = await apiClient(s.baseUrl).call<{ error: string }>('GET', `/api/sessions/${doomed.id}`, doomed.token);
    assert.equal(lost.status, 410);
    assert.match(
      lost.body.error,
      new RegExp(`session ${doomed.id} could not be restored when the server restarted .*the container of its host nginx-1 no longer exists`),
    );
    assert.equal((await apiClient(s.baseUrl).call('GET', `/api/sessions/${kept.id}`, 'not-the-token')).status, 403, 'the token is checked as before');
  });

  it('after SIGKILL, the next start takes the session back as well', async () => {
    assert.equal(await stop('SIGKILL'), 'SIGKILL');
    const s = await start();
    assert.match(s.log(), /restored 1 session\(s\)/);
    await assertRestored(s, 'made-before-the-restart');
  });

  it('ipvs-lab down refuses while the server runs, then ends every session; the learner is told why', async () => {
    const refused = runCli(['down'], env);
    assert.equal(await refused.exit, 2, refused.output());
    assert.match(refused.output(), /server "restart-[0-9a-f]+" is running \(pid \d+\): stop it first/);

    assert.equal(await stop('SIGTERM'), 0);
    const down = runCli(['down'], env);
    assert.equal(await down.exit, 0, down.output());
    assert.match(down.output(), /ended 1 session\(s\); removed [1-9]\d* containers and 1 networks/);
    assert.deepEqual(await countLabelled({ server: serverName }), { containers: 0, networks: 0 });

    const s = await start();
    const gone = await apiClient(s.baseUrl).call<{ error: string }>('GET', `/api/sessions/${kept.id}`, kept.token);
    assert.equal(gone.status, 410);
    assert.match(gone.body.error, /was removed by the server's operator/);
  });
});
