import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  CHECKER_LIMITS,
  checkerContainer,
  containerName,
  learnerContainer,
  networkName,
  sessionNetwork,
} from '../../../server/src/runtime/docker/container-spec.js';
import { LABEL_HOST, LABEL_MANAGED, LABEL_ROLE, LABEL_SERVER, LABEL_SESSION } from '../../../server/src/runtime/docker/engine.js';
import type { HostLaunchSpec } from '../../../server/src/runtime/runtime.js';
import type Dockerode from 'dockerode';

const naming = { serverName: 'lab1', sessionId: 's42' };
const NETWORK = 'ipvs-lab-lab1-s42';
const DROP = ['NET_RAW', 'MKNOD', 'AUDIT_WRITE'];
const MIB = 1024 * 1024;

const labels = (role: 'learner' | 'checker') => ({
  [LABEL_MANAGED]: 'true',
  [LABEL_SERVER]: 'lab1',
  [LABEL_SESSION]: 's42',
  [LABEL_HOST]: 'director',
  [LABEL_ROLE]: role,
});

const limitsOf = ({ Memory, MemorySwap, PidsLimit, NanoCpus, CpuShares }: Dockerode.HostConfig) => ({ Memory, MemorySwap, PidsLimit, NanoCpus, CpuShares });

function host(overrides: Partial<HostLaunchSpec> = {}): HostLaunchSpec {
  return {
    name: 'director',
    image: 'ipvs-lab/director:1',
    capabilities: ['NET_ADMIN'],
    limits: { memoryMib: 128, pids: 200, cpus: 1.5, cpuShares: 256 },
    files: {},
    checked: true,
    ...overrides,
  };
}

describe('networkName and containerName', () => {
  it('name every object after the server and the session', () => {
    assert.equal(networkName(naming), NETWORK);
    assert.equal(containerName(naming, 'director', 'learner'), 'ipvs-lab-lab1-s42-director');
    assert.equal(containerName(naming, 'director', 'checker'), 'ipvs-lab-lab1-s42-director-checker');
  });
});

describe('learnerContainer', () => {
  const spec = learnerContainer(naming, host(), DROP, '10.200.0.2');
  const config = spec.HostConfig ?? {};

  it('is on exactly its session network, under its host name', () => {
    assert.equal(spec.name, 'ipvs-lab-lab1-s42-director');
    assert.equal(spec.Hostname, 'director');
    assert.equal(spec.Image, 'ipvs-lab/director:1');
    assert.equal(config.NetworkMode, NETWORK);
    assert.deepEqual(spec.NetworkingConfig, { EndpointsConfig: { [NETWORK]: { Aliases: ['director'], IPAMConfig: { IPv4Address: '10.200.0.2' } } } });
    assert.deepEqual(config.RestartPolicy, { Name: 'unless-stopped' }, 'a learner who kills its main process gets the container back');
  });

  it("applies the host's limits, with no swap", () => {
    assert.deepEqual(limitsOf(config), { Memory: 128 * MIB, MemorySwap: 128 * MIB, PidsLimit: 200, NanoCpus: 1_500_000_000, CpuShares: 256 });
  });

  it("drops the configured capabilities except the host's own, and adds those", () => {
    assert.deepEqual(config.CapAdd, ['NET_ADMIN']);
    assert.deepEqual(config.CapDrop, ['NET_RAW', 'MKNOD', 'AUDIT_WRITE']);
    const pinger = learnerContainer(naming, host({ capabilities: ['NET_ADMIN', 'NET_RAW'] }), DROP, '10.200.0.2').HostConfig;
    assert.deepEqual(pinger?.CapAdd, ['NET_ADMIN', 'NET_RAW']);
    assert.deepEqual(pinger?.CapDrop, ['MKNOD', 'AUDIT_WRITE']);
    const plain = learnerContainer(naming, host({ capabilities: [] }), [], '10.200.0.2').HostConfig;
    assert.deepEqual(plain?.CapAdd, []);
    assert.deepEqual(plain?.CapDrop, []);
  });

  it('sets sysctls and a command only when given', () => {
    assert.equal('Sysctls' in config, false);
    assert.equal('Cmd' in spec, false);
    assert.equal('Sysctls' in (learnerContainer(naming, host({ sysctls: {} }), DROP, '10.200.0.2').HostConfig ?? {}), false);
    const sysctls = { 'net.ipv4.conf.all.arp_ignore': '1', 'net.ipv4.vs.conntrack': '1' };
    const tuned = learnerContainer(naming, host({ sysctls, command: ['nginx', '-g', 'daemon off;'] }), DROP, '10.200.0.2');
    assert.deepEqual(tuned.HostConfig?.Sysctls, sysctls);
    assert.deepEqual(tuned.Cmd, ['nginx', '-g', 'daemon off;']);
  });

  it('is labelled as a learner host of this server and session', () => {
    assert.deepEqual(spec.Labels, labels('learner'));
  });
});

describe('checkerContainer', () => {
  const spec = checkerContainer(naming, 'director', 'c0ffee', 'ipvs-lab/checker:1');
  const config = spec.HostConfig ?? {};

  it("joins the host's network namespace with a read-only root and only NET_ADMIN", () => {
    assert.equal(spec.name, 'ipvs-lab-lab1-s42-director-checker');
    assert.equal(spec.Image, 'ipvs-lab/checker:1');
    assert.equal(config.NetworkMode, 'container:c0ffee');
    assert.equal(spec.NetworkingConfig, undefined);
    assert.equal(config.ReadonlyRootfs, true);
    assert.deepEqual(config.CapDrop, ['ALL']);
    assert.deepEqual(config.CapAdd, ['NET_ADMIN']);
    assert.deepEqual(config.RestartPolicy, { Name: 'no' }, 'a check makes a new one when its host restarted');
  });

  it('has small limits of its own', () => {
    assert.deepEqual(CHECKER_LIMITS, { memoryMib: 64, pids: 64, cpus: 0.5, cpuShares: 512 });
    assert.deepEqual(limitsOf(config), { Memory: 64 * MIB, MemorySwap: 64 * MIB, PidsLimit: 64, NanoCpus: 500_000_000, CpuShares: 512 });
  });

  it('is labelled as the checker of its host', () => {
    assert.deepEqual(spec.Labels, labels('checker'));
  });
});

describe('every container', () => {
  const specs = {
    learner: learnerContainer(naming, host(), DROP, '10.200.0.2'),
    checker: checkerContainer(naming, 'director', 'c0ffee', 'ipvs-lab/checker:1'),
  };
  for (const [role, spec] of Object.entries(specs)) {
    it(`runs an init, with no new privileges and a capped log (${role})`, () => {
      const config = spec.HostConfig ?? {};
      assert.equal(config.Init, true);
      assert.deepEqual(config.SecurityOpt, ['no-new-privileges']);
      assert.deepEqual(config.LogConfig, { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } });
    });
  }
});

describe('sessionNetwork', () => {
  it('is internal, with no address on the bridge, when the lab needs no way out', () => {
    const network = sessionNetwork(naming, '10.200.0.16/28', false);
    assert.equal(network.Name, NETWORK);
    assert.equal(network.Driver, 'bridge');
    assert.equal(network.Internal, true);
    assert.deepEqual(network.Options, { 'com.docker.network.bridge.inhibit_ipv4': 'true' });
    assert.deepEqual(network.IPAM, { Driver: 'default', Config: [{ Subnet: '10.200.0.16/28' }] });
    assert.deepEqual(network.Labels, { [LABEL_MANAGED]: 'true', [LABEL_SERVER]: 'lab1', [LABEL_SESSION]: 's42' });
  });

  it('may reach out, through an ordinary bridge, when the lab needs it', () => {
    const network = sessionNetwork(naming, '10.200.0.32/28', true);
    assert.equal(network.Internal, false);
    assert.deepEqual(network.Options, {});
    assert.deepEqual(network.IPAM?.Config, [{ Subnet: '10.200.0.32/28' }]);
  });
});
