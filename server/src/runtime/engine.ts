/**
 * The one place that talks to the Docker engine. Everything above this folder speaks in labs,
 * sessions and hosts; nothing above it imports testcontainers or dockerode.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { getContainerRuntimeClient, type ContainerRuntimeClient } from 'testcontainers';

/** Every container and network this project makes carries these labels. */
export const LABEL_MANAGED = 'io.ipvs-lab.managed';
export const LABEL_SERVER = 'io.ipvs-lab.server';
export const LABEL_SESSION = 'io.ipvs-lab.session';
export const LABEL_HOST = 'io.ipvs-lab.host';

export interface EngineInfo {
  readonly dockerHost: string;
  readonly serverVersion: string;
  readonly kernelVersion: string;
  readonly operatingSystem: string;
}

/** The engine could not be reached; the message says what to do. */
export class EngineUnavailableError extends Error {
  override readonly name = 'EngineUnavailableError';
}

export class ImageBuildError extends Error {
  override readonly name = 'ImageBuildError';
}

export type Progress = (line: string) => void;

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class Engine {
  private constructor(
    private readonly client: ContainerRuntimeClient,
    readonly info: EngineInfo,
  ) {}

  /** Connects to the engine named by DOCKER_HOST (or Docker's defaults), or explains why not. */
  static async connect(dockerHost: string): Promise<Engine> {
    // testcontainers' reaper (Ryuk) is a container pulled from Docker Hub, which an offline
    // classroom cannot reach, and it would remove sessions when the server's Docker connection
    // blips. This project labels and removes its own containers instead (removeLabelled), so the
    // reaper is off unless the operator asked for it explicitly. testcontainers reads this
    // variable itself, on each start.
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
    let client: ContainerRuntimeClient;
    try {
      client = await getContainerRuntimeClient();
    } catch (e) {
      throw new EngineUnavailableError(
        `No Docker engine answers at ${dockerHost} (${(e as Error).message}). Start Docker, or set DOCKER_HOST to an engine that runs, then restart ipvs-lab.`,
      );
    }
    const raw = (await client.container.dockerode.info()) as { ServerVersion?: string; KernelVersion?: string; OperatingSystem?: string };
    return new Engine(client, {
      dockerHost,
      serverVersion: raw.ServerVersion ?? 'unknown',
      kernelVersion: raw.KernelVersion ?? 'unknown',
      operatingSystem: raw.OperatingSystem ?? 'unknown',
    });
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
      if ((e as { statusCode?: number }).statusCode === 404) return false;
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
   * Runs a throw-away container to completion and returns its output. Used for probes, where
   * testcontainers' start-and-wait model does not fit a container that exits at once.
   */
  async runOnce(image: string, cmd: string[], options: { capAdd?: string[]; labels: Record<string, string> }): Promise<ExecResult> {
    const container = await this.docker.createContainer({
      Image: image,
      Cmd: cmd,
      Labels: options.labels,
      HostConfig: { CapAdd: options.capAdd ?? [], NetworkMode: 'none' },
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

  /** Removes every container and network carrying all of `labels`; returns how many of each. */
  async removeLabelled(labels: Record<string, string>): Promise<{ containers: number; networks: number }> {
    const filters = { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) };
    const containers = await this.docker.listContainers({ all: true, filters });
    await Promise.all(containers.map((c) => this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreGone)));
    const networks = await this.docker.listNetworks({ filters });
    await Promise.all(networks.map((n) => this.docker.getNetwork(n.Id).remove().catch(ignoreGone)));
    return { containers: containers.length, networks: networks.length };
  }
}

function ignoreGone(e: unknown): void {
  // Removal races with another remover (idle sweep, delete, reaper): already gone is success.
  const status = (e as { statusCode?: number }).statusCode;
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
