import {
  ExecTimeoutError,
  HostDownError,
  type ExecResult,
  type FileRead,
  type PathInfo,
  type RunningEnvironment,
  type RunningHost,
  type ShellCommand,
} from '../runtime.js';
import { checkerContainer, containerName, sessionLabels, type SessionNaming } from './container-spec.js';
import { ignoreGone, LABEL_ROLE, statusOf, type Engine } from './engine.js';
import { hostAddress, parseCidr, SPARE_ADDRESSES } from './subnet-pool.js';

/** On a checker: the start time of the host whose network namespace it joined. */
const LABEL_HOST_STARTED = 'io.ipvs-lab.host-started';

/** What is stored with a session so that a restarted server can adopt its containers. */
export interface DockerHandle {
  readonly network: { readonly id: string; readonly name: string; readonly subnet: string };
  readonly hosts: readonly RunningHost[];
  /** Hosts whose network namespace checks read: each gets a checker, now and after a restart. */
  readonly checked: readonly string[];
}

/** The stored handle, if it has the shape this version writes; undefined otherwise. */
export function parseHandle(raw: unknown): DockerHandle | undefined {
  const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
  const h = raw as Partial<DockerHandle> | null;
  if (!h || typeof h !== 'object' || !h.network || !isText(h.network.id) || !isText(h.network.name) || !isText(h.network.subnet)) return undefined;
  if (!Array.isArray(h.hosts) || h.hosts.length === 0) return undefined;
  const hosts = h.hosts as unknown[];
  if (!hosts.every((x) => isText((x as RunningHost).name) && isText((x as RunningHost).containerId) && isText((x as RunningHost).ip))) return undefined;
  const checked: unknown = h.checked;
  if (!Array.isArray(checked) || !checked.every(isText)) return undefined;
  return { network: { id: h.network.id, name: h.network.name, subnet: h.network.subnet }, hosts: hosts as RunningHost[], checked: [...checked] };
}

interface EnvironmentSettings {
  readonly checkerImage: string;
  readonly dockerCli: string;
  readonly childEnv: Readonly<Record<string, string>>;
}

/** A session's containers on a Docker engine. */
export class DockerEnvironment implements RunningEnvironment {
  readonly hosts: ReadonlyMap<string, RunningHost>;
  private readonly checked: ReadonlySet<string>;
  /** Each checker's container and the start of its host it belongs to. */
  private readonly checkers = new Map<string, { readonly id: string; readonly hostStartedAt: string }>();
  private readonly checkerQueue = new Map<string, Promise<string>>();
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly naming: SessionNaming,
    readonly handle: DockerHandle,
    private readonly settings: EnvironmentSettings,
  ) {
    this.hosts = new Map(handle.hosts.map((h) => [h.name, h]));
    this.checked = new Set(handle.checked);
    const subnet = parseCidr(handle.network.subnet);
    // Hosts take the subnet's addresses in order from the first (see DockerRuntime.start), so the spare ones follow them.
    const spare = Array.from({ length: SPARE_ADDRESSES }, (_, k) => hostAddress(subnet, handle.hosts.length + k));
    this.network = { prefix: subnet.prefix, spare };
  }

  readonly network: RunningEnvironment['network'];

  get sessionId(): string {
    return this.naming.sessionId;
  }

  host(name: string): RunningHost {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no host ${name} in session ${this.sessionId}; hosts: ${[...this.hosts.keys()].join(', ')}`);
    return host;
  }

  /** Starts the checkers in the background, so the first check does not wait; failures surface at a check. */
  startCheckers(): void {
    for (const name of this.checked) void this.checker(name).catch(() => undefined);
  }

  /**
   * The running checker of a host. A checker joins its host's network namespace when it starts,
   * and a host that restarted (its main process was killed, the engine restarted) has a new one:
   * so each checker carries its host's start time, and a checker of an earlier start is replaced.
   * One host's checker is made by one call at a time.
   */
  private checker(hostName: string): Promise<string> {
    if (!this.checked.has(hostName)) return Promise.reject(new Error(`host ${hostName} of session ${this.sessionId} has no checker`));
    const next = (this.checkerQueue.get(hostName) ?? Promise.resolve('')).catch(() => '').then(() => this.ensureChecker(hostName));
    this.checkerQueue.set(hostName, next);
    return next;
  }

  private async ensureChecker(hostName: string): Promise<string> {
    const docker = this.engine.docker;
    const host = this.host(hostName);
    const state = (await docker.getContainer(host.containerId).inspect()).State;
    if (!state.Running)
      throw new HostDownError(`${hostName} is not running${state.Restarting ? ' (it is restarting: its main process ended)' : ''}; try again in a moment`);
    const known = this.checkers.get(hostName);
    if (known && known.hostStartedAt === state.StartedAt) return known.id;
    const name = containerName(this.naming, hostName, 'checker');
    try {
      const existing = await docker.getContainer(name).inspect();
      if (existing.State.Running && existing.Config.Labels[LABEL_HOST_STARTED] === state.StartedAt) {
        this.checkers.set(hostName, { id: existing.Id, hostStartedAt: state.StartedAt });
        return existing.Id;
      }
      await docker.getContainer(existing.Id).remove({ force: true }).catch(ignoreGone);
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
    if (this.stopped) throw new Error(`session ${this.sessionId} has ended`);
    const spec = checkerContainer(this.naming, hostName, host.containerId, this.settings.checkerImage);
    const container = await docker.createContainer({ ...spec, Labels: { ...spec.Labels, [LABEL_HOST_STARTED]: state.StartedAt } });
    // The session may have ended while the checker was being made: then it must not outlive it.
    if (this.stopped) {
      await container.remove({ force: true }).catch(ignoreGone);
      throw new Error(`session ${this.sessionId} has ended`);
    }
    await container.start();
    this.checkers.set(hostName, { id: container.id, hostStartedAt: state.StartedAt });
    return container.id;
  }

  async check(hostName: string, script: string, timeoutMs: number): Promise<ExecResult> {
    const checker = await this.checker(hostName).catch((e: Error) => {
      if (e instanceof HostDownError) throw e;
      throw new Error(`the checker of ${hostName} in session ${this.sessionId} could not start: ${e.message}`, { cause: e });
    });
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    // `timeout` is the checker's own: it kills the script in the container; the engine call has
    // its own deadline in case the engine itself hangs.
    const result = await this.engine.exec(checker, ['timeout', '-k', '1', String(seconds), 'sh', '-c', script], timeoutMs + 3000).catch((e: unknown) => {
      // A checker that died (its memory limit, someone removed it) is made again by the next check.
      this.checkers.delete(hostName);
      throw e;
    });
    if (result.exitCode === 124) throw new ExecTimeoutError(`a check in ${hostName} did not finish within ${timeoutMs} ms: ${script.slice(0, 200)}`);
    return result;
  }

  statPath(hostName: string, target: string): Promise<PathInfo | undefined> {
    return this.engine.statPath(this.host(hostName).containerId, target);
  }

  readFile(hostName: string, target: string, maxBytes: number): Promise<FileRead> {
    return this.engine.readFile(this.host(hostName).containerId, target, maxBytes);
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
    this.stopped ??= this.removeAll();
    return this.stopped;
  }

  /**
   * A checker being made when the session ends is let finish first (it sees `stopped` and removes
   * itself), and checkers go before their hosts: never a force-remove of a host while a container
   * is joining its network namespace, nor of a checker that is still starting.
   */
  private async removeAll(): Promise<void> {
    await Promise.allSettled(this.checkerQueue.values());
    const labels = sessionLabels(this.naming);
    await this.engine.removeLabelled({ ...labels, [LABEL_ROLE]: 'checker' });
    await this.engine.removeLabelled(labels);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
