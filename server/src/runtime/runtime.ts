/**
 * The seam between sessions and the container runtime. Sessions, checks and terminals speak in
 * labs, hosts and environments; only an implementation of LabRuntime knows about Docker (today
 * `docker/`; a Kubernetes runtime would be a second folder beside it).
 */

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Per-container ceilings, so one learner cannot starve the engine for the others. */
export interface ResourceLimits {
  /** Memory in MiB; swap is set equal, so a hog is killed instead of thrashing the disk. */
  readonly memoryMib: number;
  /** Most processes and threads at once: a fork storm stops here. */
  readonly pids: number;
  /** Hard CPU ceiling, in CPUs (1.5 = one and a half cores). */
  readonly cpus: number;
  /** Relative CPU weight when the engine is busy (Docker's default is 1024). */
  readonly cpuShares: number;
}

/** One container of a session, as the runtime needs to know it. */
export interface HostLaunchSpec {
  readonly name: string;
  /** A ready image reference (build contexts are resolved to tags before this point). */
  readonly image: string;
  /** Capabilities added to the runtime's default set; they are also never dropped. */
  readonly capabilities: readonly string[];
  readonly limits: ResourceLimits;
  /** Files written into the container before it starts: absolute path → content. */
  readonly files: Readonly<Record<string, string>>;
  readonly command?: readonly string[];
  /** Kernel parameters of the container's own network namespace (net.ipv4.conf.all.arp_ignore, ...). */
  readonly sysctls?: Readonly<Record<string, string>>;
  /** Checks read this host's network namespace, so it gets a trusted checker beside it. */
  readonly checked: boolean;
}

export interface EnvironmentSpec {
  readonly sessionId: string;
  readonly hosts: readonly HostLaunchSpec[];
  /** Whether the session's network may reach beyond itself (the internet, the engine's host). */
  readonly outside: boolean;
}

export interface RunningHost {
  readonly name: string;
  readonly containerId: string;
  readonly ip: string;
}

/** What a stat of a path in a host's filesystem found. */
export interface PathInfo {
  readonly mode: number;
  readonly size: number;
  readonly isDirectory: boolean;
  readonly linkTarget?: string;
}

/** A file read from a host, or why it could not be. */
export type FileRead = { readonly content: Buffer } | { readonly problem: string };

/** The command that attaches a terminal to a host's shell (run in a pty by the terminal). */
export interface ShellCommand {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/**
 * A session's containers, running. Everything a session does to them goes through here.
 * `handle` is plain JSON: stored with the session, it lets a restarted server adopt them again.
 */
export interface RunningEnvironment extends AsyncDisposable {
  readonly sessionId: string;
  readonly hosts: ReadonlyMap<string, RunningHost>;
  /** The session network: its prefix length, and addresses no host holds, for a learner to add by hand. */
  readonly network: { readonly prefix: number; readonly spare: readonly string[] };
  readonly handle: unknown;
  /**
   * Runs `sh -c script` as the trusted checker, inside the network namespace of `host`: the tools
   * come from the checker's image, which the learner cannot write to, so a learner who replaces
   * `cat` or `curl` in their own container cannot fake a result.
   */
  check(host: string, script: string, timeoutMs: number): Promise<ExecResult>;
  /** Stats a path in a host's filesystem through the engine, without running anything in the host. */
  statPath(host: string, path: string): Promise<PathInfo | undefined>;
  /** Reads a file of `host`'s filesystem through the runtime, up to `maxBytes`; nothing runs in the container. */
  readFile(host: string, path: string, maxBytes: number): Promise<FileRead>;
  /** The learner's shell in `host`. */
  shellCommand(host: string): ShellCommand;
  /** Removes every container and the network. Safe to call more than once and concurrently. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Aborting removes whatever was already started and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  readonly progress?: (line: string) => void;
}

export type Adoption = { readonly environment: RunningEnvironment } | { readonly lost: string };

export interface LabRuntime {
  start(spec: EnvironmentSpec, options?: StartOptions): Promise<RunningEnvironment>;
  /** Takes a stored environment back after a restart; `lost` says why it cannot be. */
  adopt(sessionId: string, handle: unknown): Promise<Adoption>;
  /**
   * Removes everything of this server whose session `keep` does not claim; returns how much.
   * `keep` is asked after the engine was listed, so a session that registers its id before it
   * starts containers is never taken for an orphan.
   */
  removeAllExcept(keep: (sessionId: string) => boolean): Promise<{ containers: number; networks: number }>;
}

export class ExecTimeoutError extends Error {
  override readonly name = 'ExecTimeoutError';
}

/** The engine has no room for another session (no free subnet, say); the message says what to change. */
export class RuntimeCapacityError extends Error {
  override readonly name = 'RuntimeCapacityError';
}

/** A host's container is not running (it is restarting, or was stopped); the message says which. */
export class HostDownError extends Error {
  override readonly name = 'HostDownError';
}
