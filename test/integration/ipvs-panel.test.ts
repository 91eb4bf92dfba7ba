/**
 * The live IPVS panel's stream against real kernel IPVS: what a learner types into the intro
 * lab's terminal shows in `GET /api/sessions/:id/ipvs`, the traffic view's order is the order the
 * replies came in, and a closed panel makes the engine do nothing. Needs an engine with IPVS
 * (../shared/rig/engine vm up); skipped elsewhere, except in CI.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { SessionCreated, SessionState } from '../../common/api.js';
import { typeAndWait } from '../../server/src/client/type-and-wait.js';
import { fillTemplate } from '../../server/src/labs/template.js';
import { apiClient } from '../utils/api.js';
import { engineSkipReason, ipvsSkipReason } from '../utils/engine.js';
import { checkerExecs, openPanel } from '../utils/panel.js';
import { startLabServer } from '../utils/lab-server.js';
import { TerminalClient, terminalUrl } from '../utils/terminal-client.js';

const noEngine = await engineSkipReason();
const lab = noEngine ? undefined : await startLabServer({ requireIpvs: false });
const skip = noEngine || ipvsSkipReason((await lab?.server.ready)?.ipvs ?? false);

describe('the IPVS panel stream on real IPVS', { skip }, () => {
  if (!lab) return;
  const api = apiClient(lab.baseUrl);
  let session: SessionCreated;
  let state: SessionState;
  let term: TerminalClient;
  const run = (command: string) => typeAndWait(term, fillTemplate(command, state.variables), 180_000);

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

  it('names the director in the session state and refuses a wrong token', async () => {
    assert.equal(state.ipvsHost, 'host');
    const refused = await fetch(`${lab.baseUrl}/api/sessions/${session.id}/ipvs`, { headers: { Authorization: 'Bearer wrong' } });
    assert.equal(refused.status, 403);
  });

  it('shows the service, its real servers and the traffic as the learner builds them', async () => {
    const panel = openPanel(lab.baseUrl, session);
    try {
      const empty = await panel.table(() => true, 'a first table');
      assert.deepEqual(empty.services, []);
      assert.equal(empty.host, 'host');

      await run('apt-get install -y ipvsadm');
      await run('ipvsadm -A -t {{vip}}:80 -s rr');
      const vip = `TCP ${state.variables.vip!}:80`;
      await panel.table((t) => t.services.some((s) => s.key === vip && s.scheduler === 'rr'), `the service ${vip}`);
      await run('ipvsadm -a -t {{vip}}:80 -r {{nginx-1.ip}}:80 -m && ipvsadm -a -t {{vip}}:80 -r {{nginx-2.ip}}:80 -m');
      const built = await panel.table((t) => t.services[0]?.realServers.length === 2, 'two real servers');
      assert.deepEqual(
        built.services[0]!.realServers.map((r) => [r.host, r.forward, r.weight]),
        [
          ['nginx-1', 'Masq', 1],
          ['nginx-2', 'Masq', 1],
        ],
      );

      const replies = await run('for i in $(seq 10); do curl -s {{vip}}; done');
      const answered = [...replies.matchAll(/^nginx ([12])\r?$/gm)].map((m) => `nginx-${m[1]}`);
      assert.equal(answered.length, 10, replies);
      const traffic = await panel.table((t) => (t.services[0]?.recent.length ?? 0) >= 10, 'ten connections');
      const [service] = traffic.services;
      const hostOf = new Map(service!.realServers.map((r) => [r.endpoint, r.host]));
      const shown = service!.recent.map((c) => hostOf.get(c.server));
      assert.deepEqual(shown, answered, 'the panel lists the connections in the order the replies came');
      assert.equal(shown.filter((h) => h === 'nginx-1').length, 5);
      assert.ok(
        shown.every((h, i) => i === 0 || h !== shown[i - 1]),
        `round robin alternates: ${shown.join(' ')}`,
      );

      await run('ipvsadm -e -t {{vip}}:80 -r {{nginx-2.ip}}:80 -m -w 0');
      await panel.table((t) => t.services[0]?.realServers.find((r) => r.host === 'nginx-2')?.weight === 0, 'nginx-2 quiesced');
      const counters = await panel.table((t) => (t.services[0]?.stats?.conns ?? 0) >= 10, 'the service counted ten connections');
      assert.ok((counters.services[0]!.stats!.outPackets ?? 0) > 0, 'under NAT the replies pass the director: OutPkts grows');
    } finally {
      panel.close();
      await panel.done;
    }
  });

  it('reads the kernel while a panel is open and not at all once it is closed', async () => {
    const panel = openPanel(lab.baseUrl, session);
    await panel.table(() => true, 'a table');
    const open = await checkerExecs(session.id, 4000);
    panel.close();
    await panel.done;
    await sleep(1500);
    const closed = await checkerExecs(session.id, 4000);
    assert.ok(open >= 2, `an open panel reads a few times in 4 s, got ${open}`);
    assert.equal(closed, 0, 'a closed panel costs the engine nothing');
  });

  it('refuses a ninth panel of one session and serves it again once one closes', async () => {
    const panels = Array.from({ length: 8 }, () => openPanel(lab.baseUrl, session));
    try {
      await Promise.all(panels.map((p) => p.table(() => true, 'a table')));
      const ninth = await fetch(`${lab.baseUrl}/api/sessions/${session.id}/ipvs`, { headers: { Authorization: `Bearer ${session.token}` } });
      assert.equal(ninth.status, 429);
      assert.match(((await ninth.json()) as { error: string }).error, /8 IPVS panels of this session are open already/);
      panels.shift()!.close();
      await sleep(500);
      const again = openPanel(lab.baseUrl, session);
      panels.push(again);
      await again.table(() => true, 'a table for the panel opened after one closed');
    } finally {
      for (const p of panels) p.close();
      await Promise.all(panels.map((p) => p.done));
    }
  });
});
