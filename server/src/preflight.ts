import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ServerStatus } from '../../common/api.js';
import path from 'node:path';
import { PROJECT_ROOT, type Config } from './config.js';
import type { Lab } from './labs/lab.js';
import { Engine, EngineUnavailableError, LABEL_MANAGED, LABEL_SERVER } from './runtime/docker/engine.js';
import { ensureImages } from './runtime/docker/images.js';

/**
 * The trusted checker's image is part of the server, not of any lab: its build context lives in
 * the project's own containers/ folder, wherever IPVS_LAB_CONTAINERS_DIR points for labs.
 */
export const CHECKER_BUILD = { name: 'ipvs-lab-checker', dir: path.join(PROJECT_ROOT, 'containers', 'checker') };

const run = promisify(execFile);

/** Reports a step of the start-up (logged, and shown on the page); `engine` records what the engine is. */
export interface StatusReporter {
  (message: string): void;
  engine(info: NonNullable<ServerStatus['engine']>): void;
}

export interface PreflightResult {
  readonly engine: Engine;
  readonly imageTags: ReadonlyMap<string, string>;
  readonly ipvs: boolean;
}

/** A problem the operator must fix; its message says how. */
export class PreflightError extends Error {
  override readonly name = 'PreflightError';
}

/**
 * Everything the engine must offer before the server can start sessions, in order, each step
 * reported as it goes: the engine answers, the docker CLI exists (terminals run `docker exec`),
 * the lab images and the checker image exist, and the engine's kernel has IPVS.
 */
export async function runPreflight(config: Config, labs: readonly Lab[], report: StatusReporter): Promise<PreflightResult> {
  report(`connecting to the Docker engine at ${config.dockerHost}`);
  const engine = await Engine.connect(config.dockerHost);
  report.engine({ dockerHost: config.dockerHost, serverVersion: engine.info.serverVersion, kernel: engine.info.kernelVersion });
  report(`Docker ${engine.info.serverVersion} on ${engine.info.operatingSystem}, kernel ${engine.info.kernelVersion}`);
  if (!engine.info.swapLimit)
    report(
      "warning: this engine cannot limit swap (its kernel has no swap accounting), so a container's memory limit does not cover swap: on a host with swap, a memory hog slows down instead of being killed",
    );

  try {
    const { stdout } = await run(config.dockerCli, ['--version'], { timeout: 15_000 });
    report(`terminal client: ${stdout.trim()}`);
  } catch (e) {
    throw new PreflightError(
      `The docker command-line client (${config.dockerCli}) cannot be run (${(e as Error).message.split('\n')[0]}): terminals run "docker exec -it". Install the docker CLI, or set IPVS_LAB_DOCKER_CLI to its path.`,
    );
  }

  const builds = [
    CHECKER_BUILD,
    ...labs.flatMap((l) => l.hosts.flatMap((h) => ('build' in h.image ? [{ name: h.image.build, dir: path.join(config.containersDir, h.image.build) }] : []))),
  ];
  const imageTags = await ensureImages(engine, builds, report);

  const probeImage = imageTags.get(CHECKER_BUILD.name);
  let ipvs = false;
  if (probeImage) {
    report(`checking that the engine's kernel has IPVS (in ${probeImage})`);
    const probe = await engine.runOnce(probeImage, ['sh', '-c', 'cat /proc/net/ip_vs'], {
      capAdd: ['NET_ADMIN'],
      labels: { [LABEL_MANAGED]: 'true', [LABEL_SERVER]: config.serverName },
    });
    ipvs = probe.exitCode === 0 && probe.stdout.startsWith('IP Virtual Server');
    report.engine({ dockerHost: config.dockerHost, serverVersion: engine.info.serverVersion, kernel: engine.info.kernelVersion, ipvs });
    if (!ipvs) {
      const message = `The Docker engine at ${config.dockerHost} (kernel ${engine.info.kernelVersion}) has no IPVS: /proc/net/ip_vs does not exist in its containers. On the Docker host, run "sudo modprobe ip_vs" (Linux), or use an engine whose kernel has the ip_vs module, such as Docker Desktop.`;
      if (config.requireIpvs) throw new PreflightError(`${message} (Set IPVS_LAB_REQUIRE_IPVS=false to start sessions anyway, without working IPVS checks.)`);
      report(`warning: ${message} Sessions start anyway because IPVS_LAB_REQUIRE_IPVS=false.`);
    } else {
      report('IPVS is available');
    }
  }
  return { engine, imageTags, ipvs };
}

/** A status for a failed preflight, with the message the operator needs. */
export function failedStatus(error: unknown, dockerHost: string): ServerStatus {
  const known = error instanceof PreflightError || error instanceof EngineUnavailableError;
  return {
    state: 'failed',
    message: known ? (error as Error).message : `Starting failed: ${(error as Error).message}`,
    progress: [],
    engine: { dockerHost },
  };
}
