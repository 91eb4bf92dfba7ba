import type Dockerode from 'dockerode';
import {
  RuntimeCapacityError,
  type Adoption,
  type EnvironmentSpec,
  type LabRuntime,
  type RunningEnvironment,
  type RunningHost,
  type StartOptions,
} from '../runtime.js';
import { learnerContainer, networkName, sessionLabels, sessionNetwork, type SessionNaming } from './container-spec.js';
import { DockerEnvironment, parseHandle, type DockerHandle } from './docker-environment.js';
import { LABEL_MANAGED, LABEL_SERVER, LABEL_SESSION, statusOf, type Engine } from './engine.js';
import { filesArchive } from './files-archive.js';
import { capacity, firstFreeSubnet, formatCidr, hostAddress, parseCidr, prefixFor, SPARE_ADDRESSES, type Ipv4Cidr } from './subnet-pool.js';

export interface DockerRuntimeOptions {
  readonly engine: Engine;
  readonly serverName: string;
  /** Image of the trusted checker containers. */
  readonly checkerImage: string;
  /** Where session subnets are carved from, e.g. 10.200.0.0/16. */
  readonly subnetPool: string;
  /** The largest prefix (smallest subnet) a session network gets. */
  readonly subnetPrefix: number;
  /** Capabilities removed from Docker's default set in every learner container, unless its lab adds them. */
  readonly dropCapabilities: readonly string[];
  /** The docker client and its environment, for the terminals' `docker exec -it`. */
  readonly dockerCli: string;
  readonly childEnv: Readonly<Record<string, string>>;
}

/** Tries at creating a network when another engine user takes the subnet first. */
const SUBNET_ATTEMPTS = 8;

/** The lab runtime on one Docker engine. */
export class DockerRuntime implements LabRuntime {
  private readonly pool: Ipv4Cidr;
  /** Subnet choices are made one at a time, so two sessions starting together never pick the same. */
  private allocating: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: DockerRuntimeOptions) {
    this.pool = parseCidr(options.subnetPool);
  }

  private naming(sessionId: string): SessionNaming {
    return { serverName: this.options.serverName, sessionId };
  }

  async start(spec: EnvironmentSpec, options: StartOptions = {}): Promise<RunningEnvironment> {
    const { engine } = this.options;
    const naming = this.naming(spec.sessionId);
    const progress = options.progress ?? (() => undefined);
    const cleanup = () => engine.removeLabelled(sessionLabels(naming)).catch(() => undefined);
    const abortCheck = () => options.signal?.throwIfAborted();
    try {
      abortCheck();
      const prefix = prefixFor(spec.hosts.length, SPARE_ADDRESSES, this.options.subnetPrefix);
      const network = await this.createNetwork(naming, prefix, spec.outside);
      progress(`created network ${network.name} (${network.subnet})`);
      abortCheck();
      // allSettled, not all: a failed start must not leave its siblings still starting after cleanup.
      const subnet = parseCidr(network.subnet);
      const settled = await Promise.allSettled(spec.hosts.map((host, i) => this.startLearner(naming, host, hostAddress(subnet, i), options.signal)));
      const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
      const started = settled.map((r) => (r as PromiseFulfilledResult<RunningHost>).value);
      abortCheck();
      const handle: DockerHandle = { network, hosts: started, checked: spec.hosts.filter((h) => h.checked).map((h) => h.name) };
      const environment = new DockerEnvironment(engine, naming, handle, this.options);
      // Checkers start in the background: the learner's shell does not wait for them, a check does.
      environment.startCheckers();
      return environment;
    } catch (e) {
      await cleanup();
      throw e;
    }
  }

  async adopt(sessionId: string, raw: unknown): Promise<Adoption> {
    const { engine } = this.options;
    const naming = this.naming(sessionId);
    const handle = parseHandle(raw);
    if (!handle) return { lost: 'its stored description of its containers is unreadable' };
    try {
      await engine.docker.getNetwork(handle.network.id).inspect();
    } catch (e) {
      if (statusOf(e) === 404) return { lost: `its network ${handle.network.name} no longer exists` };
      throw e;
    }
    for (const host of handle.hosts) {
      let running: boolean;
      try {
        running = (await engine.docker.getContainer(host.containerId).inspect()).State.Running;
      } catch (e) {
        if (statusOf(e) === 404) return { lost: `the container of its host ${host.name} no longer exists` };
        throw e;
      }
      // Stopped with the engine, say: start it again, with its fixed address.
      if (!running) await engine.docker.getContainer(host.containerId).start();
    }
    const environment = new DockerEnvironment(engine, naming, handle, this.options);
    environment.startCheckers();
    return { environment };
  }

  async removeAllExcept(keep: (sessionId: string) => boolean): Promise<{ containers: number; networks: number }> {
    return this.options.engine.removeLabelled({ [LABEL_MANAGED]: 'true', [LABEL_SERVER]: this.options.serverName }, (labels) =>
      keep(labels[LABEL_SESSION] ?? ''),
    );
  }

  private async startLearner(naming: SessionNaming, host: EnvironmentSpec['hosts'][number], ip: string, signal: AbortSignal | undefined): Promise<RunningHost> {
    const docker = this.options.engine.docker;
    const container = await docker.createContainer(learnerContainer(naming, host, this.options.dropCapabilities, ip)).catch((e: Error) => {
      throw new Error(`creating ${host.name} from image ${host.image} failed: ${e.message}`, { cause: e });
    });
    if (Object.keys(host.files).length > 0) await container.putArchive(await filesArchive(host.files), { path: '/' });
    signal?.throwIfAborted();
    await container.start().catch((e: Error) => {
      throw new Error(`starting ${host.name} from image ${host.image} failed: ${e.message}`, { cause: e });
    });
    return { name: host.name, containerId: container.id, ip };
  }

  private createNetwork(naming: SessionNaming, prefix: number, outside: boolean): Promise<DockerHandle['network']> {
    const run = this.allocating.then(async () => {
      const docker = this.options.engine.docker;
      const taken: Ipv4Cidr[] = [];
      for (let attempt = 1; ; attempt++) {
        const used = [...(await usedSubnets(docker)), ...taken];
        const subnet = firstFreeSubnet(this.pool, prefix, used);
        if (!subnet) {
          throw new RuntimeCapacityError(
            `no free /${prefix} subnet is left in IPVS_LAB_SUBNET_POOL=${formatCidr(this.pool)} (it holds ${capacity(this.pool, prefix)}, and this engine's networks use them all): end some sessions, or give a larger pool`,
          );
        }
        try {
          const created = await docker.createNetwork(sessionNetwork(naming, formatCidr(subnet), outside));
          return { id: created.id, name: networkName(naming), subnet: formatCidr(subnet) };
        } catch (e) {
          // Another user of the engine took the subnet between our listing and our create.
          if (!/overlap/i.test((e as Error).message) || attempt >= SUBNET_ATTEMPTS) throw e;
          taken.push(subnet);
        }
      }
    });
    this.allocating = run.catch(() => undefined);
    return run;
  }
}

/** Every IPv4 subnet any network of the engine uses, whoever made it. */
async function usedSubnets(docker: Dockerode): Promise<Ipv4Cidr[]> {
  const networks = await docker.listNetworks();
  return networks.flatMap((n) =>
    (n.IPAM?.Config ?? []).flatMap((c) => {
      try {
        return c.Subnet ? [parseCidr(c.Subnet, { strict: false })] : [];
      } catch {
        return []; // IPv6: not in an IPv4 pool's way
      }
    }),
  );
}
