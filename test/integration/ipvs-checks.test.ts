/**
 * The intro lab against real kernel IPVS: each step's check fails before the learner acts, the
 * solution typed into the real terminal makes it pass, and common mistakes get the right message.
 * Needs an engine with IPVS (../shared/rig/engine vm up); skipped elsewhere, except in CI.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionCreated, SessionState } from '../../common/api.js';
import { fillTemplate } from '../../server/src/labs/template.js';
import { apiClient } from '../utils/api.js';
import { ipvsSkipReason } from '../utils/engine.js';
import { startLabServer } from '../utils/lab-server.js';
import { typeAndWait } from '../../server/src/client/type-and-wait.js';
import { TerminalClient, terminalUrl } from '../utils/terminal-client.js';

const lab = await startLabServer({ requireIpvs: false });
const ipvs = (await lab.server.ready)?.ipvs ?? false;
const skip = ipvsSkipReason(ipvs);

describe('intro lab checks on real IPVS', { skip }, () => {
  const api = apiClient(lab.baseUrl);
  let session: SessionCreated;
  let state: SessionState;
  let term: TerminalClient;
  const run = (command: string) => typeAndWait(term, fillTemplate(command, state.variables));

  before(async () => {
    session = await api.createSession('ipvs-intro');
    state = await api.state(session);
    term = await TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, session.token));
    await term.waitFor(/root@host/);
  });
  after(async () => {
    await term?.close();
    await lab.stop();
  });

  it('install: fails before, passes after apt-get install (offline, from the image)', async () => {
    assert.match((await api.check(session, 'install')).message, /ipvsadm is not installed yet/);
    const out = await run('apt-get install -y ipvsadm');
    assert.match(out, /Setting up ipvsadm/);
    const result = await api.check(session, 'install');
    assert.equal(result.passed, true, result.message);
  });

  it('service: no service, then a wrong scheduler, then rr', async () => {
    assert.match((await api.check(session, 'service')).message, /There is no virtual service yet: create TCP [\d.]+:80/);
    await run('ipvsadm -A -t {{vip}}:80 -s wrr');
    const wrong = await api.check(session, 'service');
    assert.equal(wrong.passed, false);
    assert.equal(
      wrong.message,
      `TCP ${state.variables.vip}:80 uses scheduler wrr; this step asks for rr (change it with ipvsadm -E -t ${state.variables.vip}:80 -s rr).`,
    );
    await run('ipvsadm -E -t {{vip}}:80 -s rr');
    const ok = await api.check(session, 'service');
    assert.equal(ok.passed, true, ok.message);
  });

  it('real servers: one missing, one with the wrong forwarding method, then both with Masq', async () => {
    await run('ipvsadm -a -t {{vip}}:80 -r {{nginx-1.ip}}:80 -m');
    const one = await api.check(session, 'real-servers');
    assert.equal(one.passed, false);
    assert.match(
      one.message,
      new RegExp(`^Only 1 of the 2 backends is in TCP ${state.variables.vip}:80: ${state.variables['nginx-2.ip']}:80 \\(nginx-2\\) is missing`),
    );
    await run('ipvsadm -a -t {{vip}}:80 -r {{nginx-2.ip}}:80 -g');
    const route = await api.check(session, 'real-servers');
    assert.equal(route.passed, false);
    assert.match(
      route.message,
      new RegExp(`Real server ${state.variables['nginx-2.ip']}:80 \\(nginx-2\\) uses Route \\(-g\\); this step asks for Masq \\(-m\\)`),
    );
    // Direct routing cannot work here (nginx-2 does not hold the VIP): the traffic check must see it.
    const traffic = await api.check(session, 'traffic');
    assert.equal(traffic.passed, false);
    await run('ipvsadm -e -t {{vip}}:80 -r {{nginx-2.ip}}:80 -m');
    const ok = await api.check(session, 'real-servers');
    assert.equal(ok.passed, true, ok.message);
  });

  it('traffic: real round robin through the VIP, alternating, as the kernel does it', async () => {
    const out = await run('for i in 1 2 3 4 5 6; do curl -s {{vip}}; done');
    const bodies = out.match(/nginx [12]/g) ?? [];
    assert.equal(bodies.length, 6, out);
    for (let i = 1; i < bodies.length; i++) assert.notEqual(bodies[i], bodies[i - 1], `rr alternates: ${bodies.join(', ')}`);
    const result = await api.check(session, 'traffic');
    assert.equal(result.passed, true, result.message);
    const sequence = result.details?.sequence as string[];
    assert.equal(sequence.length, 12);
    assert.deepEqual(result.details?.counts, { 'nginx-1': 6, 'nginx-2': 6 });
  });

  it('traffic: a quiesced backend (weight 0) fails the check with its name', async () => {
    await run('ipvsadm -e -t {{vip}}:80 -r {{nginx-1.ip}}:80 -m -w 0');
    const result = await api.check(session, 'traffic');
    assert.equal(result.passed, false);
    assert.match(result.message, /weight 0/);
    await run('ipvsadm -e -t {{vip}}:80 -r {{nginx-1.ip}}:80 -m -w 1');
    assert.equal((await api.check(session, 'traffic')).passed, true);
  });

  it('every step with a check is now passed', async () => {
    const final = await api.state(session);
    assert.deepEqual(
      final.steps.filter((s) => s.hasCheck && !s.passed).map((s) => s.id),
      [],
    );
  });
});

if (skip) await lab.stop();
