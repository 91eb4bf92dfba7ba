import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { LABEL_HOST, LABEL_MANAGED, LABEL_SERVER, LABEL_SESSION, type Engine, type ExecResult } from './engine.js';

/** One container of a session, as the runtime needs to know it. */
export interface HostLaunchSpec {
  readonly name: string;
  /** A ready image reference (build contexts are resolved to tags before this point). */
  readonly image: string;
  readonly capabilities: readonly string[];
  readonly files: Readonly<Record<string, string>>;
  readonly command?: readonly string[];
}

export interface EnvironmentSpec {
  /** Server name and session id go into every label and name. */
  readonly serverName: string;
  readonly sessionId: string;
  readonly hosts: readonly HostLaunchSpec[];
}

export interface RunningHost {
  readonly name: string;
  readonly containerId: string;
  readonly ip: string;
}

export class ExecTimeoutError extends Error {
  override readonly name = 'ExecTimeoutError';
}

/**
 * A session's network and containers, started. `stop()` (or `await using`) removes all of them;
 * if the server dies first, their labels let the next start remove them instead.
 */
export class StartedLabEnvironment implements AsyncDisposable {
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly engine: Engine,
    readonly networkName: string,
    private readonly containers: ReadonlyMap<string, StartedTestContainer>,
    readonly hosts: ReadonlyMap<string, RunningHost>,
    private readonly labels: Readonly<Record<string, string>>,
  ) {}

  host(name: string): RunningHost {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no host ${name} in this session; hosts: ${[...this.hosts.keys()].join(', ')}`);
    return host;
  }

  /**
   * Runs `sh -c script` in a host. The time limit is enforced twice: by `timeout` inside the
   * container, so nothing is left running there, and here, in case the engine itself hangs.
   */
  async exec(hostName: string, script: string, timeoutMs: number): Promise<ExecResult> {
    const container = this.containers.get(hostName);
    if (!container) throw new Error(`no host ${hostName} in this session; hosts: ${[...this.hosts.keys()].join(', ')}`);
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ExecTimeoutError(`command in ${hostName} did not finish within ${timeoutMs} ms: ${script}`)), timeoutMs + 2000);
    });
    try {
      const result = await Promise.race([container.exec(['timeout', '-k', '1', String(seconds), 'sh', '-c', script]), deadline]);
      if (result.exitCode === 124) throw new ExecTimeoutError(`command in ${hostName} did not finish within ${timeoutMs} ms: ${script}`);
      return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Removes the containers and the network. Safe to call more than once and concurrently. */
  stop(): Promise<void> {
    this.stopped ??= this.engine.removeLabelled(this.labels).then(() => undefined);
    return this.stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Starts a session's private network and its containers, in parallel. On any failure everything
 * already started is removed before the error is rethrown: a failed start leaves nothing behind.
 */
export async function startLabEnvironment(
  engine: Engine,
  spec: EnvironmentSpec,
  progress: (line: string) => void = () => undefined,
): Promise<StartedLabEnvironment> {
  const labels = { [LABEL_MANAGED]: 'true', [LABEL_SERVER]: spec.serverName, [LABEL_SESSION]: spec.sessionId };
  const networkName = `ipvs-lab-${spec.serverName}-${spec.sessionId}`;
  const cleanup = () => engine.removeLabelled(labels).catch(() => undefined);
  try {
    progress(`creating network ${networkName}`);
    await engine.docker.createNetwork({ Name: networkName, Driver: 'bridge', CheckDuplicate: true, Labels: labels });
    // allSettled, not all: a failed start must not leave its siblings still starting after cleanup.
    const settled = await Promise.allSettled(
      spec.hosts.map(async (host) => {
        let container = new GenericContainer(host.image)
          .withName(`${networkName}-${host.name}`)
          .withHostname(host.name)
          .withNetworkMode(networkName)
          .withNetworkAliases(host.name)
          .withLabels({ ...labels, [LABEL_HOST]: host.name })
          .withStartupTimeout(120_000);
        if (host.capabilities.length > 0) container = container.withAddedCapabilities(...host.capabilities);
        if (host.command) container = container.withCommand([...host.command]);
        const files = Object.entries(host.files).map(([target, content]) => ({ content, target, mode: 0o644 }));
        if (files.length > 0) container = container.withCopyContentToContainer(files);
        const t0 = Date.now();
        const startedContainer = await container.start().catch((e: Error) => {
          throw new Error(`starting ${host.name} from image ${host.image} failed: ${e.message}`, { cause: e });
        });
        progress(`started ${host.name} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        return [host.name, startedContainer] as const;
      }),
    );
    const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    const started = settled.map((r) => (r as PromiseFulfilledResult<readonly [string, StartedTestContainer]>).value);
    const containers = new Map(started);
    const hosts = new Map(started.map(([name, c]) => [name, { name, containerId: c.getId(), ip: c.getIpAddress(networkName) } satisfies RunningHost] as const));
    return new StartedLabEnvironment(engine, networkName, containers, hosts, labels);
  } catch (e) {
    await cleanup();
    throw e;
  }
}
