import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ServerStatus } from '../../common/api.js';
import type { Config } from './config.js';
import type { Lab } from './labs/lab.js';
import { shellHost } from './labs/lab.js';
import type { Logger } from './logger.js';
import { Engine, EngineUnavailableError, LABEL_MANAGED, LABEL_SERVER } from './runtime/engine.js';
import { ensureImages } from './runtime/images.js';

const run = promisify(execFile);

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
 * Everything the server needs before it can start sessions, in order, each step reported as it
 * goes: the engine answers, the docker CLI exists (terminals run `docker exec`), leftovers of a
 * crashed run are removed, the lab images exist, and the engine's kernel has IPVS.
 */
export async function runPreflight(config: Config, labs: readonly Lab[], log: Logger, onStatus: (status: ServerStatus) => void): Promise<PreflightResult> {
  const progress: string[] = [];
  let engineInfo: ServerStatus['engine'] = { dockerHost: config.dockerHost };
  const report = (message: string) => {
    progress.push(message);
    log.info(message);
    onStatus({ state: 'starting', message, progress: [...progress], engine: engineInfo });
  };

  report(`connecting to the Docker engine at ${config.dockerHost}`);
  const engine = await Engine.connect(config.dockerHost);
  engineInfo = { dockerHost: config.dockerHost, serverVersion: engine.info.serverVersion, kernel: engine.info.kernelVersion };
  report(`Docker ${engine.info.serverVersion} on ${engine.info.operatingSystem}, kernel ${engine.info.kernelVersion}`);

  try {
    const { stdout } = await run(config.dockerCli, ['--version'], { timeout: 15_000 });
    report(`terminal client: ${stdout.trim()}`);
  } catch (e) {
    throw new PreflightError(
      `The docker command-line client (${config.dockerCli}) cannot be run (${(e as Error).message.split('\n')[0]}): terminals run "docker exec -it". Install the docker CLI, or set IPVS_LAB_DOCKER_CLI to its path.`,
    );
  }

  const reaped = await engine.removeLabelled({ [LABEL_MANAGED]: 'true', [LABEL_SERVER]: config.serverName });
  report(
    reaped.containers + reaped.networks > 0
      ? `removed ${reaped.containers} containers and ${reaped.networks} networks left behind by an earlier run of server "${config.serverName}"`
      : `no leftovers of an earlier run of server "${config.serverName}"`,
  );

  const builds = labs.flatMap((l) => l.hosts.flatMap((h) => ('build' in h.image ? [h.image.build] : [])));
  const imageTags = await ensureImages(engine, config.containersDir, builds, report);

  const probeImage = probeImageFor(labs, imageTags);
  let ipvs = false;
  if (probeImage) {
    report(`checking that the engine's kernel has IPVS (in ${probeImage})`);
    const probe = await engine.runOnce(probeImage, ['sh', '-c', 'cat /proc/net/ip_vs'], {
      capAdd: ['NET_ADMIN'],
      labels: { [LABEL_MANAGED]: 'true', [LABEL_SERVER]: config.serverName },
    });
    ipvs = probe.exitCode === 0 && probe.stdout.startsWith('IP Virtual Server');
    engineInfo = { ...engineInfo, ipvs };
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

function probeImageFor(labs: readonly Lab[], imageTags: ReadonlyMap<string, string>): string | undefined {
  const lab = labs[0];
  if (!lab) return undefined;
  const image = shellHost(lab).image;
  return 'ref' in image ? image.ref : imageTags.get(image.build);
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
