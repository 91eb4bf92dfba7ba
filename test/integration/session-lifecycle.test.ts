/**
 * A session on a real Docker engine: it starts, its shell answers over the real WebSocket, tokens
 * guard it, and deleting it removes every container and its network.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionCreated } from '../../common/api.js';
import { apiClient } from '../utils/api.js';
import { LABEL_MANAGED, LABEL_SERVER, LABEL_SESSION } from '../../server/src/runtime/docker/engine.js';
import { countLabelled, dockerode, engineSkipReason } from '../utils/engine.js';
import { startLabServer, type RunningLabServer } from '../utils/lab-server.js';
import { TerminalClient, terminalUrl } from '../utils/terminal-client.js';
import { waitForSize } from '../utils/terminal-size.js';

describe('session lifecycle on a real engine', { skip: await engineSkipReason() }, () => {
  let lab: RunningLabServer;
  let api: ReturnType<typeof apiClient>;
  let session: SessionCreated;

  before(async () => {
    // IPVS is not needed here: this file runs on any engine.
    lab = await startLabServer({ requireIpvs: false });
    api = apiClient(lab.baseUrl);
    session = await api.createSession('ipvs-intro');
  });
  after(async () => {
    await lab?.stop();
  });

  it('lists the intro lab', async () => {
    const r = await api.call<{ id: string; steps: number }[]>('GET', '/api/labs');
    assert.equal(r.status, 200);
    const intro = r.body.find((l) => l.id === 'ipvs-intro');
    assert.ok(intro, 'ipvs-intro is listed');
    assert.equal(intro.steps, 8);
  });

  it('starts the three containers and the checker on a private network', async () => {
    // The checker starts in the background: the shell does not wait for it.
    await lab.server.sessionManager!.lookup(session.id).environment.check('host', 'true', 30_000);
    assert.deepEqual(await countLabelled({ server: lab.config.serverName, session: session.id }), { containers: 4, networks: 1 });
    assert.match(session.url, new RegExp(`^/s/${session.id}\\?token=`));
    const state = await api.state(session);
    assert.equal(state.lab, 'ipvs-intro');
    assert.deepEqual(
      state.steps.map((s) => s.id),
      ['intro', 'install', 'backends', 'service', 'real-servers', 'traffic', 'challenge', 'done'],
    );
    assert.ok(state.steps.every((s) => !s.passed));
    for (const host of ['host', 'nginx-1', 'nginx-2']) assert.match(state.variables[`${host}.ip`] ?? '', /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(state.variables.vip, state.variables['host.ip']);
    const service = state.steps.find((s) => s.id === 'service')!;
    assert.ok(service.html.includes(`ipvsadm -A -t ${state.variables.vip}:80 -s rr`), 'step text has the session address filled in');
    assert.deepEqual(service.solution, [{ host: 'host', command: `ipvsadm -A -t ${state.variables.vip}:80 -s rr` }]);
  });

  it('gives a shell in the host container that answers, with the backends reachable by address', async () => {
    const state = await api.state(session);
    const term = await TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, session.token), { cols: 120, rows: 40 });
    try {
      await term.waitFor(/root@host/);
      term.send('echo "sum=$((6*7))"; hostname\r');
      await term.waitFor(/sum=42\r\nhost\r\n/);
      await waitForSize(term, '40 120'); // the size the page said hello with
      const mark = term.output.length;
      term.send(`curl -s ${state.variables['nginx-2.ip']}\r`);
      await term.waitFor(/nginx 2/, 15_000, mark);
    } finally {
      await term.close();
    }
  });

  it('replays the history to a page that reconnects, from where it left off', async () => {
    const first = await TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, session.token));
    await first.waitFor(/root@host/);
    first.send('echo marker-$((40+1))\r');
    await first.waitFor(/marker-41/);
    const seen = first.received;
    await first.close();

    const reload = await TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, session.token));
    await reload.waitFor(/marker-41/); // a reload (no resumeFrom) gets the whole history
    await reload.close();

    const resumed = await TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, session.token), { resumeFrom: seen });
    resumed.send('echo after-$((1+1))\r');
    await resumed.waitFor(/after-2/);
    assert.ok(!resumed.output.includes('marker-41'), 'nothing before resumeFrom is sent again');
    assert.equal((await Promise.resolve(resumed.messages.find((m) => m.type === 'ready')))?.type, 'ready');
    await resumed.close();
  });

  it('refuses a wrong or missing token for the API, the page and the WebSocket', async () => {
    assert.equal((await api.call('GET', `/api/sessions/${session.id}`, 'not-the-token')).status, 403);
    assert.equal((await api.call('GET', `/api/sessions/${session.id}`)).status, 403);
    assert.equal((await api.call('POST', `/api/sessions/${session.id}/steps/install/check`, 'x')).status, 403);
    assert.equal((await api.call('DELETE', `/api/sessions/${session.id}`, 'x')).status, 403);
    const page = await fetch(`${lab.baseUrl}/s/${session.id}?token=wrong`);
    assert.equal(page.status, 403);
    assert.match(await page.text(), /not valid for this session/);
    assert.equal((await fetch(`${lab.baseUrl}/s/${session.id}?token=${session.token}`)).status, 200);
    await assert.rejects(TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, 'wrong')), /upgrade refused: 403/);
    await assert.rejects(TerminalClient.connect(terminalUrl(lab.baseUrl, 'nosuchsession', session.token)), /upgrade refused: 404/);
  });

  it('answers bad requests with clear errors', async () => {
    const unknownLab = await api.call<{ error: string }>('POST', '/api/sessions', undefined, { lab: 'no-such-lab' });
    assert.equal(unknownLab.status, 404);
    assert.match(unknownLab.body.error, /no lab "no-such-lab"; labs: ipvs-intro/);
    const malformed = await api.call<{ error: string }>('POST', '/api/sessions', undefined, '{"lab": ');
    assert.equal(malformed.status, 400);
    assert.match(malformed.body.error, /not valid JSON/);
    const unknownStep = await api.call<{ error: string }>('POST', `/api/sessions/${session.id}/steps/nope/check`, session.token);
    assert.equal(unknownStep.status, 404);
    assert.match(unknownStep.body.error, /no step "nope"/);
    const unknownSession = await fetch(`${lab.baseUrl}/s/abcdef?token=x`);
    assert.equal(unknownSession.status, 404);
    assert.match(await unknownSession.text(), /does not exist any more/);
  });

  it('runs a check without changing anything, and a step without checks is marked done', async () => {
    const install = await api.check(session, 'install');
    assert.equal(install.passed, false);
    assert.match(install.message, /ipvsadm is not installed yet/);
    const backends = await api.check(session, 'backends');
    assert.equal(backends.passed, true);
    const state = await api.state(session);
    assert.deepEqual(
      state.steps.filter((s) => s.passed).map((s) => s.id),
      ['backends'],
    );
  });

  it("sweeps what no session owns (a removal that failed, a crashed start) and leaves live sessions' alone", async () => {
    const docker = await dockerode();
    const labels = { [LABEL_MANAGED]: 'true', [LABEL_SERVER]: lab.config.serverName, [LABEL_SESSION]: 'orphan0001' };
    await docker.createNetwork({ Name: `ipvs-lab-${lab.config.serverName}-orphan0001`, Internal: true, Labels: labels });
    await docker.createContainer({ Image: 'debian:bookworm-slim', Cmd: ['sleep', 'infinity'], Labels: labels, HostConfig: { NetworkMode: 'none' } });
    assert.deepEqual(await countLabelled({ server: lab.config.serverName, session: 'orphan0001' }), { containers: 1, networks: 1 });
    assert.deepEqual(await lab.server.sessionManager!.removeOrphans(), { containers: 1, networks: 1 });
    assert.deepEqual(await countLabelled({ server: lab.config.serverName, session: 'orphan0001' }), { containers: 0, networks: 0 });
    assert.deepEqual(await countLabelled({ server: lab.config.serverName, session: session.id }), { containers: 4, networks: 1 });
  });

  it('removes every container and the network on DELETE, and tells attached pages', async () => {
    const page = await TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, session.token));
    await page.nextMessage('ready');
    const closed = new Promise<[number, string]>((resolve) => page.ws.once('close', (code, reason) => resolve([code, reason.toString()])));
    assert.equal(await api.remove(session), 204);
    assert.deepEqual(await closed, [1008, 'the session has ended']);
    assert.deepEqual(await countLabelled({ server: lab.config.serverName, session: session.id }), { containers: 0, networks: 0 });
    const gone = await api.call<{ error: string }>('GET', `/api/sessions/${session.id}`, session.token);
    assert.equal(gone.status, 410);
    assert.match(gone.body.error, new RegExp(`session ${session.id} was ended at \\S+, and its containers removed`));
  });
});
