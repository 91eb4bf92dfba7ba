/**
 * One learner cannot reach another, nor the engine's host, nor the internet: every container is on
 * exactly its own session's network, an internal bridge without an address of its own, carved
 * from the server's subnet pool.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionCreated, SessionState } from '../../common/api.js';
import { Engine, LABEL_SESSION } from '../../server/src/runtime/docker/engine.js';
import { apiClient } from '../utils/api.js';
import { dockerode, engineSkipReason } from '../utils/engine.js';
import { startLabServer, type RunningLabServer } from '../utils/lab-server.js';

const skip = await engineSkipReason();

/** Runs a shell line in a session's learner host, as the learner could; its stdout and stderr. */
async function inHost(lab: RunningLabServer, session: SessionCreated, script: string): Promise<string> {
  const engine = await Engine.connect(lab.config.dockerHost);
  const id = lab.server.sessionManager!.lookup(session.id).environment.hosts.get('host')!.containerId;
  const { stdout, stderr } = await engine.exec(id, ['sh', '-c', script], 30_000);
  return stdout + stderr;
}

describe('two sessions cannot reach each other', { skip }, () => {
  let lab: RunningLabServer;
  let a: SessionCreated;
  let b: SessionCreated;
  let stateA: SessionState;
  let stateB: SessionState;

  before(async () => {
    lab = await startLabServer({ requireIpvs: false, subnetPool: '10.213.0.0/26' });
    const api = apiClient(lab.baseUrl);
    [a, b] = await Promise.all([api.createSession('ipvs-intro'), api.createSession('ipvs-intro')]);
    [stateA, stateB] = await Promise.all([api.state(a!), api.state(b!)]);
    // Wait for the checkers, so their containers are inspected too.
    await Promise.all([a!, b!].map((s) => lab.server.sessionManager!.lookup(s.id).environment.check('host', 'true', 30_000)));
  });
  after(async () => {
    await lab?.stop();
  });

  it('puts every container on exactly its own session network, carved from the pool, internal', async () => {
    const docker = await dockerode();
    for (const s of [a, b]) {
      const containers = await docker.listContainers({ all: true, filters: { label: [`${LABEL_SESSION}=${s.id}`] } });
      assert.equal(containers.length, 4, 'three hosts and a checker');
      const [network] = await docker.listNetworks({ filters: { label: [`${LABEL_SESSION}=${s.id}`] } });
      const info = await docker.getNetwork(network!.Id).inspect();
      assert.equal(info.Internal, true);
      assert.match(info.IPAM?.Config?.[0]?.Subnet ?? '', /^10\.213\.0\.\d+\/28$/);
      assert.equal(info.Options?.['com.docker.network.bridge.inhibit_ipv4'], 'true');
      for (const c of containers) {
        const inspect = await docker.getContainer(c.Id).inspect();
        const networks = Object.keys(inspect.NetworkSettings.Networks);
        if (inspect.HostConfig.NetworkMode?.startsWith('container:')) {
          assert.deepEqual(networks, [], 'the checker has no network of its own: it is in its host');
        } else {
          assert.deepEqual(networks, [network!.Name], `${inspect.Name} is on its session network and nothing else`);
        }
      }
    }
  });

  it("reaches its own backends, but no address of the other session's, the engine's host or the internet", async () => {
    const own = await inHost(lab, a, `curl -s --max-time 3 ${stateA.variables['nginx-1.ip']}`);
    assert.match(own, /nginx 1/, 'the positive control: its own backend answers');
    const targets = [
      ...['host', 'nginx-1', 'nginx-2'].map((h) => stateB.variables[`${h}.ip`]!),
      // The bridge address Docker reserves (no one holds it on an internal network) and the outside.
      stateA.variables['host.ip']!.replace(/\.\d+$/, '.1'),
      stateB.variables['host.ip']!.replace(/\.\d+$/, '.1'),
      '1.1.1.1',
    ];
    for (const ip of targets) {
      const out = await inHost(lab, a, `curl -s --connect-timeout 2 --max-time 3 -o /dev/null -w '%{http_code}' http://${ip}/; echo " rc=$?"`);
      assert.match(out, /^000 rc=(7|28)/, `${ip} must be unreachable from session A: ${out}`);
    }
    // With NET_ADMIN the learner can add a route; there is still nothing to route through.
    const routed = await inHost(
      lab,
      a,
      `ip route add ${stateB.variables['nginx-1.ip']}/32 dev eth0 && curl -s --connect-timeout 2 --max-time 3 ${stateB.variables['nginx-1.ip']}; echo " rc=$?"`,
    );
    assert.doesNotMatch(routed, /nginx 1/);
    assert.match(routed, /rc=(7|28)/);
  });

  it('resolves a host name only within its own session', async () => {
    const out = await inHost(lab, a, 'getent hosts nginx-1');
    assert.match(out, new RegExp(`^${stateA.variables['nginx-1.ip']!.replace(/\./g, '\\.')}\\s+nginx-1`));
  });

  it('says clearly when the pool has no subnet left', async () => {
    // 10.213.0.0/26 holds four /28s: A and B use two; two more fit, the fifth session does not.
    const api = apiClient(lab.baseUrl);
    const tries = await Promise.all(
      [1, 2, 3].map(() => api.call<SessionCreated & { error?: string }>('POST', '/api/sessions', undefined, { lab: 'ipvs-intro' })),
    );
    const made = tries.filter((r) => r.status === 201).map((r) => r.body);
    const refused = tries.filter((r) => r.status !== 201);
    assert.equal(made.length, 2);
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.status, 503);
    assert.match(refused[0]!.body.error ?? '', /no free \/28 subnet is left in IPVS_LAB_SUBNET_POOL=10\.213\.0\.0\/26 \(it holds 4, /);
    await Promise.all(made.map((s) => api.remove(s)));
  });
});
