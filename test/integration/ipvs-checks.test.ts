/**
 * The intro lab against real kernel IPVS: each step's check fails before the learner acts, the
 * solution typed into the real terminal makes it pass, and common mistakes get the right message.
 * Needs an engine with IPVS (../shared/rig/engine vm up); skipped elsewhere, except in CI.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionCreated, SessionState } from '../../common/api.js';
import { runChecks } from '../../server/src/checks/run-checks.js';
import type { CheckSpec } from '../../server/src/labs/lab.js';
import { fillTemplate } from '../../server/src/labs/template.js';
import { apiClient } from '../utils/api.js';
import { engineSkipReason, ipvsSkipReason } from '../utils/engine.js';
import { startLabServer } from '../utils/lab-server.js';
import { typeAndWait } from '../../server/src/client/type-and-wait.js';
import { TerminalClient, terminalUrl } from '../utils/terminal-client.js';

const noEngine = await engineSkipReason();
const lab = noEngine ? undefined : await startLabServer({ requireIpvs: false });
const skip = noEngine || ipvsSkipReason((await lab?.server.ready)?.ipvs ?? false);

describe('intro lab checks on real IPVS', { skip }, () => {
  if (!lab) return;
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

  /** Only the traffic judge of the traffic step, run against the live containers (not stopped by the table check before it). */
  const judgeTraffic = async () => {
    const live = lab.server.sessionManager!.lookup(session.id);
    const traffic = live.lab.steps.find((s) => s.id === 'traffic')!;
    const judge = traffic.checks.filter((c): c is Extract<CheckSpec, { kind: 'traffic' }> => c.kind === 'traffic');
    assert.equal(judge.length, 1);
    return runChecks(judge, live.checkContext());
  };

  it('a learner who fakes cat, curl and ipvsadm in their own container cannot pass a check', async () => {
    // A plausible table, a perfect alternation and a happy ipvsadm, from the learner's own replacements.
    const fakeTable = [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn',
      `TCP  ${hex(state.variables.vip!)}:0050 rr`,
      `  -> ${hex(state.variables['nginx-1.ip']!)}:0050      Masq    1      0          0`,
      `  -> ${hex(state.variables['nginx-2.ip']!)}:0050      Masq    1      0          0`,
    ].join('\n');
    const fakes: Record<string, string> = {
      '/bin/cat': `#!/bin/sh\nprintf '%s\\n' '${fakeTable.replace(/\n/g, "' '")}'\n`,
      '/usr/bin/curl': '#!/bin/sh\nn=$(( $(/usr/bin/head -c 8 /tmp/n 2>/dev/null || echo 0) + 1 )); echo $n > /tmp/n; echo "nginx $(( n % 2 + 1 ))"\n',
      '/usr/sbin/ipvsadm': '#!/bin/sh\nexit 0\n',
    };
    await run('cp /bin/cat /root/real-cat && cp /usr/bin/curl /root/real-curl');
    for (const [file, script] of Object.entries(fakes))
      await run(`echo ${Buffer.from(script).toString('base64')} | base64 -d > /tmp/fake && /root/real-cat /tmp/fake > ${file} && chmod +x ${file}`);
    assert.match(await run('cat /proc/net/ip_vs'), new RegExp(`TCP  ${hex(state.variables.vip!)}:0050 rr`), "the fake answers in the learner's own shell");
    assert.match(await run(`curl -s ${state.variables.vip!}`), /nginx [12]/);
    const service = await api.check(session, 'service');
    assert.equal(service.passed, false);
    assert.match(service.message, /There is no virtual service yet/);
    const traffic = await judgeTraffic();
    assert.equal(traffic.passed, false, traffic.message);
    await run('/root/real-cat /root/real-cat > /bin/cat; /root/real-cat /root/real-curl > /usr/bin/curl; rm -f /usr/sbin/ipvsadm /tmp/n; hash -r');
    assert.match(await run('cat /etc/hostname'), /host/);
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
    // Direct routing cannot work here (nginx-2 does not hold the VIP): the traffic judge itself must see it.
    const traffic = await judgeTraffic();
    assert.equal(traffic.passed, false);
    assert.match(traffic.message, /request \d+ of 12 failed \(Connection timed out after \d+ milliseconds\)/, traffic.message);
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

  it('traffic: a quiesced backend (weight 0) fails the check with its name, in the table and in the traffic', async () => {
    await run('ipvsadm -e -t {{vip}}:80 -r {{nginx-1.ip}}:80 -m -w 0');
    const result = await api.check(session, 'traffic');
    assert.equal(result.passed, false);
    assert.match(result.message, /weight 0/);
    const traffic = await judgeTraffic();
    assert.equal(traffic.passed, false);
    assert.match(traffic.message, /^nginx-2 answered 12 of 12 requests and nginx-1 none: only 1 of the 2 backends is receiving traffic/);
    await run('ipvsadm -e -t {{vip}}:80 -r {{nginx-1.ip}}:80 -m -w 1');
    assert.equal((await api.check(session, 'traffic')).passed, true);
  });

  it('challenge: draining nginx-2 (weight 0) passes, judged with the table: every request on nginx-1, none on nginx-2', async () => {
    const before = await api.check(session, 'challenge');
    assert.equal(before.passed, false);
    assert.match(before.message, /has weight 1; this step asks for 0/);
    await run('ipvsadm -e -t {{vip}}:80 -r {{nginx-2.ip}}:80 -m -w 0');
    const drained = await api.check(session, 'challenge');
    assert.equal(drained.passed, true, drained.message);
    assert.deepEqual(drained.details?.counts, { 'nginx-1': 8, 'nginx-2': 0 });
  });

  it('every step with a check is now passed', async () => {
    const final = await api.state(session);
    assert.deepEqual(
      final.steps.filter((s) => s.hasCheck && !s.passed).map((s) => s.id),
      [],
    );
  });
});

if (skip) await lab?.stop();

/** An IPv4 address as /proc/net/ip_vs prints it. */
function hex(ip: string): string {
  return ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase())
    .join('');
}
