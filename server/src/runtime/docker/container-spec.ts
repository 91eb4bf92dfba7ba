/**
 * What Docker is asked to create for a session, as plain data: pure functions of the lab's host
 * and the server's settings, so the security-relevant settings are unit-tested without an engine.
 */
import type Dockerode from 'dockerode';
import type { HostLaunchSpec, ResourceLimits } from '../runtime.js';
import { LABEL_HOST, LABEL_MANAGED, LABEL_ROLE, LABEL_SERVER, LABEL_SESSION } from './engine.js';

const MIB = 1024 * 1024;

/** The checker only reads: a few processes and a little memory are plenty. */
export const CHECKER_LIMITS: ResourceLimits = { memoryMib: 64, pids: 64, cpus: 0.5, cpuShares: 512 };

/** Names and labels of one session's objects on the engine. */
export interface SessionNaming {
  readonly serverName: string;
  readonly sessionId: string;
}

export function networkName(n: SessionNaming): string {
  return `ipvs-lab-${n.serverName}-${n.sessionId}`;
}

export function containerName(n: SessionNaming, host: string, role: 'learner' | 'checker'): string {
  return `${networkName(n)}-${host}${role === 'checker' ? '-checker' : ''}`;
}

export function sessionLabels(n: SessionNaming): Record<string, string> {
  return { [LABEL_MANAGED]: 'true', [LABEL_SERVER]: n.serverName, [LABEL_SESSION]: n.sessionId };
}

function limitsConfig(limits: ResourceLimits): Dockerode.HostConfig {
  return {
    Memory: limits.memoryMib * MIB,
    // Swap equal to memory means no swap at all: a memory hog is killed, it does not thrash.
    MemorySwap: limits.memoryMib * MIB,
    PidsLimit: limits.pids,
    NanoCpus: Math.round(limits.cpus * 1e9),
    CpuShares: limits.cpuShares,
  };
}

const COMMON_HOST_CONFIG: Dockerode.HostConfig = {
  // docker-init as PID 1 reaps orphaned zombies (a learner's `sleep &` storm) and forwards signals.
  Init: true,
  SecurityOpt: ['no-new-privileges'],
  // nginx logs every request to stdout: without a cap, a curl loop fills the engine's disk.
  LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } },
};

/**
 * A learner-facing host: on exactly its session's network (the network's name as NetworkMode and
 * an alias on that one endpoint: no second attachment to Docker's default bridge), with limits,
 * no new privileges, and Docker's default capabilities minus `drop`, plus what the lab asks for.
 */
export function learnerContainer(n: SessionNaming, host: HostLaunchSpec, drop: readonly string[], ip: string): Dockerode.ContainerCreateOptions {
  const network = networkName(n);
  return {
    name: containerName(n, host.name, 'learner'),
    Hostname: host.name,
    Image: host.image,
    ...(host.command ? { Cmd: [...host.command] } : {}),
    Labels: { ...sessionLabels(n), [LABEL_HOST]: host.name, [LABEL_ROLE]: 'learner' },
    HostConfig: {
      ...COMMON_HOST_CONFIG,
      ...limitsConfig(host.limits),
      NetworkMode: network,
      // A learner who kills their container's main process (`kill 1`) gets the container back,
      // and one the engine's restart stopped comes back with the engine.
      RestartPolicy: { Name: 'unless-stopped' },
      CapAdd: [...host.capabilities],
      CapDrop: drop.filter((c) => !host.capabilities.includes(c)),
      ...(host.sysctls && Object.keys(host.sysctls).length > 0 ? { Sysctls: { ...host.sysctls } } : {}),
    },
    // The address is fixed: a restarted container keeps it, so the lab's variables stay true.
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [host.name], IPAMConfig: { IPv4Address: ip } } } },
  };
}

/**
 * The trusted checker beside a host: it joins the host's network namespace (so /proc/net/ip_vs,
 * sockets and routes are the host's) but has its own read-only filesystem from the checker
 * image, every capability dropped except NET_ADMIN (ipvsadm's netlink reads need it), and small
 * limits.
 */
export function checkerContainer(n: SessionNaming, hostName: string, hostContainerId: string, image: string): Dockerode.ContainerCreateOptions {
  return {
    name: containerName(n, hostName, 'checker'),
    Image: image,
    Cmd: ['sleep', 'infinity'],
    Labels: { ...sessionLabels(n), [LABEL_HOST]: hostName, [LABEL_ROLE]: 'checker' },
    HostConfig: {
      ...COMMON_HOST_CONFIG,
      ...limitsConfig(CHECKER_LIMITS),
      NetworkMode: `container:${hostContainerId}`,
      // Not restarted by the engine: a check re-creates it when its host has a new namespace.
      RestartPolicy: { Name: 'no' },
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,size=16m' },
      CapDrop: ['ALL'],
      CapAdd: ['NET_ADMIN'],
    },
  };
}

/** The session network: a small explicit subnet, and no way out unless the lab needs one. */
export function sessionNetwork(n: SessionNaming, subnet: string, outside: boolean): Dockerode.NetworkCreateOptions {
  return {
    Name: networkName(n),
    Driver: 'bridge',
    CheckDuplicate: true,
    // Internal: Docker adds no route out and drops whatever tries to leave the subnet.
    Internal: !outside,
    Labels: sessionLabels(n),
    IPAM: { Driver: 'default', Config: [{ Subnet: subnet }] },
    // Without an address on the bridge, an internal network's containers cannot reach the
    // engine's host either (its services, the Docker API of a development VM).
    Options: outside ? {} : { 'com.docker.network.bridge.inhibit_ipv4': 'true' },
  };
}
