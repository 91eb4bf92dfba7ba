import { ExecTimeoutError, type ExecResult, type PathInfo, type RunningEnvironment, type RunningHost, type ShellCommand } from '../runtime.js';
import { checkerContainer, containerName, sessionLabels, type SessionNaming } from './container-spec.js';
import { ignoreGone, statusOf, type Engine } from './engine.js';

/** What is stored with a session so that a restarted server can adopt its containers. */
export interface DockerHandle {
  readonly network: { readonly id: string; readonly name: string; readonly subnet: string };
  readonly hosts: readonly RunningHost[];
}

/** The stored handle, if it has the shape this version writes; undefined otherwise. */
export function parseHandle(raw: unknown): DockerHandle | undefined {
  const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
  const h = raw as Partial<DockerHandle> | null;
  if (!h || typeof h !== 'object' || !h.network || !isText(h.network.id) || !isText(h.network.name) || !isText(h.network.subnet)) return undefined;
  if (!Array.isArray(h.hosts) || h.hosts.length === 0) return undefined;
  const hosts = h.hosts as unknown[];
  if (!hosts.every((x) => isText((x as RunningHost).name) && isText((x as RunningHost).containerId) && isText((x as RunningHost).ip))) return undefined;
  return { network: { id: h.network.id, name: h.network.name, subnet: h.network.subnet }, hosts: hosts as RunningHost[] };
}

interface EnvironmentSettings {
  readonly checkerImage: string;
  readonly dockerCli: string;
  readonly childEnv: Readonly<Record<string, string>>;
}

/** A session's containers on a Docker engine. */
export class DockerEnvironment implements RunningEnvironment {
  readonly hosts: ReadonlyMap<string, RunningHost>;
  private readonly checkers = new Map<string, Promise<string>>();
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly naming: SessionNaming,
    readonly handle: DockerHandle,
    private readonly settings: EnvironmentSettings,
    /** Hosts whose network namespace checks read: each gets a checker. */
    private readonly checked: ReadonlySet<string>,
  ) {
    this.hosts = new Map(handle.hosts.map((h) => [h.name, h]));
  }

  get sessionId(): string {
    return this.naming.sessionId;
  }

  host(name: string): RunningHost {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no host ${name} in session ${this.sessionId}; hosts: ${[...this.hosts.keys()].join(', ')}`);
    return host;
  }

  /**
   * Makes sure every checked host has a running checker, reusing one that already runs unless
   * its host is in `recreate` (a restarted host has a new network namespace). Failures surface at
   * the next check, which tries again.
   */
  startCheckers(recreate: ReadonlySet<string> = new Set()): void {
    for (const name of this.checked) {
      const started = this.ensureChecker(name, recreate.has(name));
      started.catch(() => this.checkers.delete(name));
      this.checkers.set(name, started);
    }
  }

  private async ensureChecker(hostName: string, recreate: boolean): Promise<string> {
    const docker = this.engine.docker;
    const name = containerName(this.naming, hostName, 'checker');
    try {
      const existing = await docker.getContainer(name).inspect();
      if (!recreate && existing.State.Running) return existing.Id;
      await docker.getContainer(existing.Id).remove({ force: true }).catch(ignoreGone);
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
    const host = this.host(hostName);
    const container = await docker.createContainer(checkerContainer(this.naming, hostName, host.containerId, this.settings.checkerImage));
    await container.start();
    return container.id;
  }

  private checker(hostName: string): Promise<string> {
    if (!this.checked.has(hostName)) return Promise.reject(new Error(`host ${hostName} of session ${this.sessionId} has no checker`));
    let checker = this.checkers.get(hostName);
    if (!checker) {
      checker = this.ensureChecker(hostName, false);
      checker.catch(() => this.checkers.delete(hostName));
      this.checkers.set(hostName, checker);
    }
    return checker;
  }

  async check(hostName: string, script: string, timeoutMs: number): Promise<ExecResult> {
    const checker = await this.checker(hostName).catch((e: Error) => {
      throw new Error(`the checker of ${hostName} in session ${this.sessionId} could not start: ${e.message}`, { cause: e });
    });
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    // `timeout` is the checker's own: it kills the script in the container; the engine call has
    // its own deadline in case the engine itself hangs.
    const result = await this.engine.exec(checker, ['timeout', '-k', '1', String(seconds), 'sh', '-c', script], timeoutMs + 3000);
    if (result.exitCode === 124) throw new ExecTimeoutError(`a check in ${hostName} did not finish within ${timeoutMs} ms: ${script.slice(0, 200)}`);
    return result;
  }

  statPath(hostName: string, target: string): Promise<PathInfo | undefined> {
    return this.engine.statPath(this.host(hostName).containerId, target);
  }

  shellCommand(hostName: string): ShellCommand {
    return {
      file: this.settings.dockerCli,
      args: [
        'exec',
        '-it',
        '-e',
        'TERM=xterm-256color',
        '-w',
        '/root',
        this.host(hostName).containerId,
        'sh',
        '-c',
        'if command -v bash >/dev/null; then exec bash -l; else exec sh -l; fi',
      ],
      env: this.settings.childEnv,
    };
  }

  stop(): Promise<void> {
    this.stopped ??= this.engine.removeLabelled(sessionLabels(this.naming)).then(() => undefined);
    return this.stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
