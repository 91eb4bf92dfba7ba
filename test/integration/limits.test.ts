/**
 * One learner cannot starve the others: a fork storm stops at the container's pids limit, a
 * memory hog is killed inside its own container, orphans are reaped by the container's init, and
 * meanwhile another session's keystrokes echo as fast as before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionCreated } from '../../common/api.js';
import { typeAndWait } from '../../server/src/client/type-and-wait.js';
import { percentile } from '../../bench/support/stats.js';
import { apiClient } from '../utils/api.js';
import { sampleEcho } from '../utils/echo.js';
import { dockerode, engineSkipReason } from '../utils/engine.js';
import { startLabServer, type RunningLabServer } from '../utils/lab-server.js';
import { TerminalClient, terminalUrl } from '../utils/terminal-client.js';

const skip = await engineSkipReason();
const PIDS = 100;
const MEMORY_MIB = 96;

describe('limits on every container', { skip }, () => {
  let lab: RunningLabServer;
  let storm: TerminalClient;
  let bystander: TerminalClient;
  let stormSession: SessionCreated;
  let baseline: number[];

  before(async () => {
    lab = await startLabServer({ requireIpvs: false, pids: PIDS, memoryMib: MEMORY_MIB });
    const api = apiClient(lab.baseUrl);
    const [s1, s2] = await Promise.all([api.createSession('ipvs-intro'), api.createSession('ipvs-intro')]);
    stormSession = s1!;
    storm = await TerminalClient.connect(terminalUrl(lab.baseUrl, s1.id, s1.token));
    bystander = await TerminalClient.connect(terminalUrl(lab.baseUrl, s2.id, s2.token));
    await Promise.all([storm.waitFor(/root@host/), bystander.waitFor(/root@host/)]);
    await typeAndWait(bystander, 'true');
    baseline = await sampleEcho(bystander, 40);
  });
  after(async () => {
    await storm?.close();
    await bystander?.close();
    await lab?.stop();
  });

  it('runs each container under docker-init, with no new privileges and the limits set', async () => {
    const docker = await dockerode();
    const id = lab.server.sessionManager!.lookup(stormSession.id).environment.hosts.get('host')!.containerId;
    const { HostConfig } = await docker.getContainer(id).inspect();
    assert.equal(HostConfig.Init, true);
    assert.deepEqual(HostConfig.SecurityOpt, ['no-new-privileges']);
    assert.equal(HostConfig.PidsLimit, PIDS);
    assert.equal(HostConfig.Memory, MEMORY_MIB * 1024 * 1024);
    // -1: an engine without swap accounting (the rig's VM) takes no swap limit, and says so at start.
    assert.ok([MEMORY_MIB * 1024 * 1024, -1].includes(HostConfig.MemorySwap ?? 0), `MemorySwap ${HostConfig.MemorySwap}`);
    assert.ok((HostConfig.CapDrop as string[] | undefined)?.includes('NET_RAW'));
    assert.match(await typeAndWait(storm, 'cat /proc/1/cmdline | tr "\\0" " "; echo'), /docker-init -- sleep infinity/);
  });

  it('stops a fork storm at the pids limit, while another session echoes as fast as before', async (t) => {
    // bash retries a failed fork for seconds: `timeout` ends the storm, and its sleeps end soon after.
    const mark = storm.output.length;
    storm.send("timeout 15 bash -c 'for i in $(seq 1 3000); do sleep 25 & done' 2>/dev/null; echo storm-over\r");
    // Counted from outside: at the limit, nothing in the container can fork a `ps`.
    const docker = await dockerode();
    const id = lab.server.sessionManager!.lookup(stormSession.id).environment.hosts.get('host')!.containerId;
    const count = async () => ((await docker.getContainer(id).top()) as { Processes: unknown[] }).Processes.length;
    // The storm reaches the limit within seconds; on a slow (emulated) engine, a few more.
    let processes = 0;
    for (const deadline = Date.now() + 12_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
      processes = await count();
      if (processes > PIDS - 10) break;
    }
    const during = await sampleEcho(bystander, 40);
    processes = await count();
    assert.ok(processes <= PIDS && processes > PIDS - 10, `processes in the container: ${processes} (limit ${PIDS})`);
    await storm.waitFor(/[\r\n]storm-over\r\n/, 60_000, mark);
    for (let i = 0; i < 60 && (await count()) > 10; i++) await new Promise((r) => setTimeout(r, 1000));
    const p99 = { before: percentile(baseline, 99), during: percentile(during, 99) };
    t.diagnostic(
      `fork storm: ${processes} processes (limit ${PIDS}); bystander echo p99 ${p99.before.toFixed(1)} ms before, ${p99.during.toFixed(1)} ms during`,
    );
    // Generous: the bound is about the storm not reaching the other learner, not about this machine's noise.
    assert.ok(
      p99.during < Math.max(3 * p99.before, p99.before + 150),
      `bystander echo p99 ${p99.during.toFixed(1)} ms during the storm, ${p99.before.toFixed(1)} ms before`,
    );
  });

  it('kills a memory hog inside its own container; the shell and the container live on', async () => {
    const out = await typeAndWait(storm, `head -c ${4 * MEMORY_MIB}m /dev/zero | tail > /dev/null; echo "hog rc=$?"`, 120_000);
    assert.match(out, /hog rc=137/, 'the hog was killed (SIGKILL from the OOM killer)');
    assert.match(await typeAndWait(storm, 'echo alive-$((3+4))'), /alive-7/);
    assert.match(await typeAndWait(bystander, 'echo fine-$((2+2))'), /fine-4/);
  });

  it('gives a learner who kills the main process a restarted container, at the same address', async () => {
    const before = await typeAndWait(storm, 'hostname -i');
    storm.send('kill 1\r');
    await storm.nextMessage('exit', 30_000);
    // The engine restarts it; the next keystroke starts a shell in it.
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      storm.send('\r');
      if (/root@host[^\n]*$/.test(storm.output.slice(-200)) && !/not running|restarting/.test(storm.output.slice(-300))) break;
    }
    const after = await typeAndWait(storm, 'hostname -i');
    assert.equal(/\d+\.\d+\.\d+\.\d+/.exec(after)?.[0], /\d+\.\d+\.\d+\.\d+/.exec(before)?.[0]);
  });

  it('reaps orphans: no zombie is left when a process dies before its children', async () => {
    await typeAndWait(storm, "sh -c 'sleep 0.2 & sleep 0.2 & exit 0'; sleep 1");
    const zombies = await typeAndWait(storm, 'ps -eo stat --no-headers | grep -c "^Z"');
    assert.match(zombies, /[\r\n]0\s*$/, `zombies: ${JSON.stringify(zombies)}`);
  });
});
