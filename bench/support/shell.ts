/** Sessions, shells and containers of the intro lab, as the benchmarks use them. */
import type { SessionCreated } from '../../common/api.js';
import { TerminalClient, terminalUrl } from '../../server/src/client/terminal-client.js';
import { childEnvironment, loadConfig } from '../../server/src/config.js';
import { containerName } from '../../server/src/runtime/docker/container-spec.js';
import { Engine } from '../../server/src/runtime/docker/engine.js';
import { apiClient } from '../../test/utils/api.js';
import { watchClient, type OutputWatch } from './output-watch.js';

export const LAB = 'ipvs-intro';

/**
 * The host image's prompt (`PS1` in containers/host/Dockerfile, colours included) at the very end
 * of the output, possibly followed by readline's bracketed-paste switch or erase-to-end-of-line.
 */
// eslint-disable-next-line no-control-regex -- matching terminal escape sequences is the point
export const PROMPT_AT_END = /root@host\x1b\[0m:\x1b\[1;34m[^\x1b]*\x1b\[0m# (?:\x1b\[(?:\?2004h|K))*$/;

export function atPrompt(watch: OutputWatch): boolean {
  return PROMPT_AT_END.test(watch.tail);
}

export interface OpenShell {
  readonly client: TerminalClient;
  readonly watch: OutputWatch;
}

/** Connects a headless page to a session's terminal and waits for its prompt to finish drawing. */
export async function openShell(baseUrl: string, session: SessionCreated, options: { keep?: number; resumeFrom?: number } = {}): Promise<OpenShell> {
  const client = await TerminalClient.connect(terminalUrl(baseUrl, session.id, session.token), {
    cols: 120,
    rows: 40,
    ...(options.resumeFrom === undefined ? {} : { resumeFrom: options.resumeFrom }),
  });
  // Resuming: everything before resumeFrom counts as received and drawn, as for a page that reconnects.
  if (options.resumeFrom !== undefined) client.received = client.acked = options.resumeFrom;
  const watch = watchClient(client, options.keep);
  try {
    if (options.resumeFrom === undefined) await watch.until(atPrompt, 30_000, `the prompt of session ${session.id}`);
    await watch.quiet(200, 10_000);
  } catch (e) {
    await client.close();
    throw e;
  }
  return { client, watch };
}

/** Deletes sessions, `concurrency` at a time, ignoring the ones already gone. */
export async function deleteSessions(baseUrl: string, sessions: readonly SessionCreated[], concurrency = 6): Promise<void> {
  const api = apiClient(baseUrl);
  await pool(sessions, concurrency, async (s) => {
    const status = await api.remove(s);
    if (status !== 204 && status !== 404) throw new Error(`DELETE /api/sessions/${s.id} answered ${status}`);
  });
}

/** Runs `task` over `items` with at most `concurrency` running at once; rejects with the first failure once all have settled. */
export async function pool<T, R>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<PromiseSettledResult<R> | undefined>(items.length).fill(undefined);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i).then(
        (value) => ({ status: 'fulfilled', value }) as const,
        (reason: unknown) => ({ status: 'rejected', reason }) as const,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  const failed = results.find((r): r is PromiseRejectedResult => r?.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<R>).value);
}

/** The id of a session's host container, from the engine (named as server/src/runtime/docker/container-spec.ts names it). */
export async function hostContainerId(serverName: string, sessionId: string): Promise<string> {
  const engine = await Engine.connect(loadConfig().dockerHost);
  const info = await engine.docker.getContainer(containerName({ serverName, sessionId }, 'host', 'learner')).inspect();
  return info.Id;
}

/** This process's environment without unset entries, as node-pty wants it (DOCKER_HOST reaches docker exec). */
export const stringEnv = childEnvironment;
