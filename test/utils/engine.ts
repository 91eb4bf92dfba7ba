import http from 'node:http';
import { getContainerRuntimeClient } from 'testcontainers';
import { Engine, LABEL_MANAGED, LABEL_SERVER, LABEL_SESSION } from '../../server/src/runtime/docker/engine.js';

/** The engine's own client, for tests that look behind the server's back. */
export async function dockerode() {
  return (await getContainerRuntimeClient()).container.dockerode;
}

/** Removes every container and network a server name carries (after a server that was killed); returns how many containers. */
export async function removeServerContainers(serverName: string): Promise<number> {
  const engine = await Engine.connect(process.env.DOCKER_HOST ?? 'the default Docker socket');
  return (await engine.removeLabelled({ [LABEL_MANAGED]: 'true', [LABEL_SERVER]: serverName })).containers;
}

/** Containers and networks of one session (or of a whole server), straight from the engine. */
export async function countLabelled(labels: { server: string; session?: string }): Promise<{ containers: number; networks: number }> {
  const docker = (await getContainerRuntimeClient()).container.dockerode;
  const label = [`${LABEL_MANAGED}=true`, `${LABEL_SERVER}=${labels.server}`, ...(labels.session ? [`${LABEL_SESSION}=${labels.session}`] : [])];
  const containers = await docker.listContainers({ all: true, filters: { label } });
  const networks = await docker.listNetworks({ filters: { label } });
  return { containers: containers.length, networks: networks.length };
}

const HOW_TO_GET_ONE = 'start one (on these machines: eval "$(../shared/rig/engine local up)", or "vm up" for one with IPVS) or set DOCKER_HOST to one';

/** Answers Docker's /_ping within `timeoutMs`, over the socket or TCP address DOCKER_HOST names. */
function pingEngine(dockerHost: string, timeoutMs: number): Promise<boolean> {
  const target = dockerHost.startsWith('unix://')
    ? { socketPath: dockerHost.slice('unix://'.length) }
    : (() => {
        const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
        return { host: url.hostname, port: Number(url.port || 2375) };
      })();
  return new Promise((resolve) => {
    const req = http.get({ ...target, path: '/_ping', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

let engineProbe: Promise<string | false> | undefined;

/**
 * Whether tests that need a Docker engine can run here: false when one answers, else a one-line
 * reason that says how to get one. In CI an engine is a requirement, and its absence fails at once.
 */
export function engineSkipReason(): Promise<string | false> {
  engineProbe ??= (async () => {
    const dockerHost = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
    if (await pingEngine(dockerHost, 3000)) return false;
    const reason = `no Docker engine answers at ${dockerHost}: ${HOW_TO_GET_ONE}`;
    if (process.env.CI) throw new Error(`CI needs a Docker engine: ${reason}`);
    return reason;
  })();
  return engineProbe;
}

/**
 * Whether tests that need kernel IPVS can run here. On an engine without IPVS they are skipped,
 * except in CI, where the IPVS engine is a requirement and its absence must fail the run.
 */
export function ipvsSkipReason(ipvs: boolean): string | false {
  if (ipvs) return false;
  if (process.env.CI)
    throw new Error(
      `CI must run against an engine with IPVS (DOCKER_HOST=${process.env.DOCKER_HOST ?? 'default'} has none): start it with ../shared/rig/engine vm up`,
    );
  return `the Docker engine at ${process.env.DOCKER_HOST ?? 'the default socket'} has no IPVS`;
}

/** Containers of one session, whatever server made them. */
export async function countSessionContainers(sessionId: string): Promise<number> {
  const docker = (await getContainerRuntimeClient()).container.dockerode;
  return (await docker.listContainers({ all: true, filters: { label: [`${LABEL_SESSION}=${sessionId}`] } })).length;
}

/** Server names the tests use; nothing else may use these prefixes. */
export const TEST_SERVER_PREFIXES = ['test-', 'restart-', 'bench-', 'cli-', 'crash-', 'term-', 'idle-'];

/**
 * Removes what test runs that were killed left on this engine (each run has its own server name,
 * so no server start reaps them). Only containers older than an hour: never a running test's.
 */
export async function reapStaleTestContainers(): Promise<number> {
  const docker = (await getContainerRuntimeClient()).container.dockerode;
  const cutoff = Date.now() / 1000 - 3600;
  const stale = (await docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`] } })).filter(
    (c) => c.Created < cutoff && TEST_SERVER_PREFIXES.some((p) => (c.Labels[LABEL_SERVER] ?? '').startsWith(p)),
  );
  await Promise.all(
    stale.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  const networks = await docker.listNetworks({ filters: { label: [`${LABEL_MANAGED}=true`] } });
  await Promise.all(
    networks
      .filter((n) => TEST_SERVER_PREFIXES.some((p) => (n.Labels?.[LABEL_SERVER] ?? '').startsWith(p)) && Date.parse(n.Created) / 1000 < cutoff)
      .map((n) =>
        docker
          .getNetwork(n.Id)
          .remove()
          .catch(() => undefined),
      ),
  );
  return stale.length;
}
