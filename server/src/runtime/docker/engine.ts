/**
 * The one place that talks to the Docker engine. Everything above runtime/ speaks in labs,
 * sessions and hosts; nothing above it imports testcontainers or dockerode.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import { getContainerRuntimeClient, type ContainerRuntimeClient } from 'testcontainers';
import { ExecTimeoutError, type ExecResult, type FileRead, type PathInfo } from '../runtime.js';
import { firstFileOf } from './files-archive.js';

/** Every container and network this project makes carries these labels. */
export const LABEL_MANAGED = 'io.ipvs-lab.managed';
export const LABEL_SERVER = 'io.ipvs-lab.server';
export const LABEL_SESSION = 'io.ipvs-lab.session';
export const LABEL_HOST = 'io.ipvs-lab.host';
/** `learner` for a lab's own host, `checker` for the trusted container that reads beside it. */
export const LABEL_ROLE = 'io.ipvs-lab.role';

export interface EngineInfo {
  readonly dockerHost: string;
  readonly serverVersion: string;
  readonly kernelVersion: string;
  readonly operatingSystem: string;
  /** Whether the engine can limit swap; without it, a container's memory limit leaves swap unlimited. */
  readonly swapLimit: boolean;
}

/** The engine could not be reached; the message says what to do. */
export class EngineUnavailableError extends Error {
  override readonly name = 'EngineUnavailableError';
}

/** The engine did not answer a call in time; the message names the call. */
export class EngineTimeoutError extends Error {
  override readonly name = 'EngineTimeoutError';
}

export class ImageBuildError extends Error {
  override readonly name = 'ImageBuildError';
}

export type Progress = (line: string) => void;

/** Output beyond this is cut: checks read small files and short bodies, never megabytes. */
const MAX_EXEC_OUTPUT = 1024 * 1024;
/** How long a call to the engine itself may take before the engine counts as unreachable. */
const CONNECT_TIMEOUT_MS = 15_000;
/**
 * The longest any single request/response call to the engine may take (inspect, create, start,
 * remove, a network call). The VM engine removes a busy session in well under 20 s; a call that
 * takes minutes is an engine that hangs, and it must fail with its name instead of hanging the
 * request, the session or a server stop behind it.
 */
export const ENGINE_CALL_TIMEOUT_MS = 120_000;

export function statusOf(e: unknown): number | undefined {
  return (e as { statusCode?: number }).statusCode;
}

export class Engine {
  private constructor(
    private readonly client: ContainerRuntimeClient,
    readonly info: EngineInfo,
  ) {}

  /** Connects to the engine named by DOCKER_HOST (or Docker's defaults), or explains why not. */
  static async connect(dockerHost: string): Promise<Engine> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
    });
    try {
      const client = await Promise.race([getContainerRuntimeClient(), timeout]);
      const raw = (await Promise.race([client.container.dockerode.info(), timeout])) as {
        ServerVersion?: string;
        KernelVersion?: string;
        OperatingSystem?: string;
        SwapLimit?: boolean;
      };
      withCallDeadline(client.container.dockerode, ENGINE_CALL_TIMEOUT_MS);
      return new Engine(client, {
        dockerHost,
        serverVersion: raw.ServerVersion ?? 'unknown',
        kernelVersion: raw.KernelVersion ?? 'unknown',
        operatingSystem: raw.OperatingSystem ?? 'unknown',
        swapLimit: raw.SwapLimit ?? false,
      });
    } catch (e) {
      throw new EngineUnavailableError(
        `No Docker engine answers at ${dockerHost} (${(e as Error).message}). Start Docker, or set DOCKER_HOST to an engine that runs, then restart ipvs-lab.`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** The raw client, for the other modules of this folder only. */
  get docker(): Dockerode {
    return this.client.container.dockerode;
  }

  async imageExists(ref: string): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect();
      return true;
    } catch (e) {
      if (statusOf(e) === 404) return false;
      throw e;
    }
  }

  /**
   * Builds `contextDir` as `tag`, reporting each build step through `progress`. The engine's own
   * error (a failed RUN, say) ends up in the thrown ImageBuildError with the last lines of output.
   */
  async buildImage(contextDir: string, tag: string, labels: Record<string, string>, progress: Progress): Promise<void> {
    const src = listFiles(contextDir);
    const stream = await this.docker.buildImage({ context: contextDir, src }, { t: tag, labels, rm: true, forcerm: true });
    const tail: string[] = [];
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err) => (err ? reject(err) : resolve()),
        (event: { stream?: string; error?: string; errorDetail?: { message?: string } }) => {
          if (event.error) {
            reject(new ImageBuildError(`building ${tag} from ${contextDir} failed: ${event.error}\n${tail.join('\n')}`));
            return;
          }
          for (const line of (event.stream ?? '').split('\n')) {
            const trimmed = line.trimEnd();
            if (!trimmed) continue;
            tail.push(trimmed);
            if (tail.length > 15) tail.shift();
            if (/^Step \d+\/\d+ :/.test(trimmed)) progress(trimmed.length > 160 ? `${trimmed.slice(0, 157)}...` : trimmed);
          }
        },
      );
    });
    if (!(await this.imageExists(tag))) throw new ImageBuildError(`building ${tag} from ${contextDir} ended without an image:\n${tail.join('\n')}`);
  }

  /**
   * Runs a throw-away container to completion and returns its output. Used for probes, where a
   * start-and-wait model does not fit a container that exits at once.
   */
  async runOnce(image: string, cmd: string[], options: { capAdd?: string[]; labels: Record<string, string> }): Promise<ExecResult> {
    const container = await this.docker.createContainer({
      Image: image,
      Cmd: cmd,
      Labels: options.labels,
      HostConfig: { CapAdd: options.capAdd ?? [], NetworkMode: 'none', Memory: 64 * 1024 * 1024, PidsLimit: 64 },
    });
    try {
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      const logs = await container.logs({ stdout: true, stderr: true, follow: false });
      const { stdout, stderr } = demux(logs);
      return { exitCode: StatusCode, stdout, stderr };
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }

  /**
   * Runs `cmd` in a running container and collects its output (cut at 1 MiB). `timeoutMs` bounds
   * the wait here, in case the engine itself hangs; the command should bound itself too.
   */
  async exec(containerId: string, cmd: readonly string[], timeoutMs: number): Promise<ExecResult> {
    const exec = await this.docker.getContainer(containerId).exec({ Cmd: [...cmd], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out = new Capped();
    const err = new Capped();
    const stdout = new PassThrough().on('data', (d: Buffer) => out.add(d));
    const stderr = new PassThrough().on('data', (d: Buffer) => err.add(d));
    this.docker.modem.demuxStream(stream, stdout, stderr);
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => {
          stream.destroy();
          reject(new ExecTimeoutError(`${cmd.join(' ').slice(0, 200)} in container ${containerId.slice(0, 12)} did not finish within ${timeoutMs} ms`));
        }, timeoutMs);
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
      });
    } finally {
      clearTimeout(timer);
    }
    // The stream can end a moment before the engine records the exit code.
    for (let attempt = 0; ; attempt++) {
      const { ExitCode, Running } = await exec.inspect();
      if ((!Running && ExitCode !== null) || attempt >= 20) return { exitCode: ExitCode ?? -1, stdout: out.text(), stderr: err.text() };
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** What the engine sees at `target` in the container's filesystem, or undefined if nothing is there. */
  async statPath(containerId: string, target: string): Promise<PathInfo | undefined> {
    let response: { headers?: Record<string, string | string[] | undefined>; resume?: () => void };
    try {
      response = (await this.docker.getContainer(containerId).infoArchive({ path: target })) as typeof response;
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
    response.resume?.();
    const header = response.headers?.['x-docker-container-path-stat'];
    if (typeof header !== 'string') return undefined;
    const stat = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { mode: number; size: number; linkTarget?: string };
    // Go's os.FileMode: the directory bit is the top bit, permissions are the low nine.
    const isDirectory = stat.mode >= 2 ** 31 && Math.floor(stat.mode / 2 ** 31) % 2 === 1;
    return { mode: stat.mode % 0o1000, size: stat.size, isDirectory, ...(stat.linkTarget ? { linkTarget: stat.linkTarget } : {}) };
  }

  /**
   * Reads a file of the container's filesystem through the engine (no process runs in the
   * container): its content, or why not (missing, not a file, larger than `maxBytes`).
   */
  async readFile(containerId: string, target: string, maxBytes: number): Promise<FileRead> {
    let archive: NodeJS.ReadableStream;
    try {
      archive = await this.docker.getContainer(containerId).getArchive({ path: target });
    } catch (e) {
      if (statusOf(e) === 404) return { problem: 'there is no such file' };
      throw e;
    }
    return firstFileOf(archive, maxBytes);
  }

  /** Removes every container and network carrying all of `labels`; returns how many of each. */
  async removeLabelled(labels: Record<string, string>, except: (labels: Record<string, string>) => boolean = () => false) {
    const filters = { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) };
    const containers = (await this.docker.listContainers({ all: true, filters })).filter((c) => !except(c.Labels));
    await Promise.all(containers.map((c) => this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreGone)));
    const networks = (await this.docker.listNetworks({ filters })).filter((n) => !except(n.Labels ?? {}));
    await Promise.all(networks.map((n) => this.docker.getNetwork(n.Id).remove().catch(ignoreGone)));
    return { containers: containers.length, networks: networks.length };
  }
}

interface DialOptions {
  readonly method?: string;
  readonly path?: string;
  readonly isStream?: boolean;
  readonly hijack?: boolean;
  readonly openStdin?: boolean;
  readonly abortSignal?: AbortSignal;
}
type Dial = (options: DialOptions, callback: (err: unknown, data: unknown) => void) => unknown;
const DEADLINE_INSTALLED = Symbol('ipvs-lab.deadline');

/**
 * Gives every plain request/response call of this client a deadline, by handing the engine
 * request an abort signal (dockerode's own `abortSignal`, which docker-modem turns into the HTTP
 * request's signal). Streams are left alone: builds, logs and exec sessions are long by nature
 * and bounded by their callers. Installed once per client, however often Engine.connect runs.
 */
export function withCallDeadline(docker: Dockerode, ms: number): void {
  const modem = docker.modem as unknown as { dial: Dial; [DEADLINE_INSTALLED]?: true };
  if (modem[DEADLINE_INSTALLED]) return;
  const dial = modem.dial.bind(modem);
  modem.dial = (options, callback) => {
    if (options.isStream || options.hijack || options.openStdin || options.abortSignal) return dial(options, callback);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ms);
    return dial({ ...options, abortSignal: controller.signal }, (err, data) => {
      clearTimeout(timer);
      if (err && controller.signal.aborted) {
        const call = `${options.method ?? 'GET'} ${(options.path ?? '').replace(/\?$/, '')}`;
        callback(new EngineTimeoutError(`the Docker engine did not answer ${call} within ${ms / 1000} s`, { cause: err }), data);
        return;
      }
      callback(err, data);
    });
  };
  modem[DEADLINE_INSTALLED] = true;
}

/** Collects a stream's bytes up to MAX_EXEC_OUTPUT, then notes the cut instead of growing. */
class Capped {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private cut = false;

  add(chunk: Buffer): void {
    const room = MAX_EXEC_OUTPUT - this.size;
    if (room <= 0) {
      this.cut = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.cut ||= kept.length < chunk.length;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8') + (this.cut ? '\n[output cut at 1 MiB]' : '');
  }
}

export function ignoreGone(e: unknown): void {
  // Removal races with another remover (idle sweep, delete, reaper): already gone is success.
  const status = statusOf(e);
  if (status !== 404 && status !== 409) throw e;
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix)).flatMap((name) => {
    const rel = prefix ? `${prefix}/${name}` : name;
    return statSync(path.join(dir, rel)).isDirectory() ? listFiles(dir, rel) : [rel];
  });
}

/** Splits Docker's multiplexed log stream (8-byte frame headers) into stdout and stderr. */
export function demux(buffer: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buffer.length) {
    const kind = buffer[i];
    const size = buffer.readUInt32BE(i + 4);
    const chunk = buffer.subarray(i + 8, i + 8 + size);
    (kind === 2 ? err : out).push(chunk);
    i += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
