/**
 * Idle sessions are removed with their containers. The clock is injected, so the test does not
 * wait an hour; the containers are real.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { loadConfig, PROJECT_ROOT } from '../../server/src/config.js';
import { loadLab } from '../../server/src/labs/lab-loader.js';
import { silentLogger } from '../../server/src/logger.js';
import { runPreflight } from '../../server/src/preflight.js';
import { SessionManager } from '../../server/src/sessions/session-manager.js';
import { countLabelled } from '../utils/engine.js';
import { uniqueServerName } from '../utils/lab-server.js';

it('removes a session idle for longer than the limit, and keeps an active one', async () => {
  const config = loadConfig(process.env, { serverName: uniqueServerName('idle'), requireIpvs: false });
  const lab = loadLab(`${PROJECT_ROOT}/labs/ipvs-intro`, { containersDir: config.containersDir });
  const { engine, imageTags } = await runPreflight(config, [lab], silentLogger, () => undefined);
  let now = 1_000_000;
  const childEnv = Object.fromEntries(Object.entries(process.env).filter((kv): kv is [string, string] => typeof kv[1] === 'string'));
  const manager = new SessionManager({
    engine,
    labs: new Map([[lab.id, lab]]),
    imageTags,
    serverName: config.serverName,
    maxSessions: 5,
    idleMs: 60 * 60_000,
    checkTimeoutMs: 10_000,
    replayCapacity: 1024 * 1024,
    dockerCli: config.dockerCli,
    childEnv,
    log: silentLogger,
    now: () => now,
  });
  try {
    const idle = await manager.create(lab.id);
    const active = await manager.create(lab.id);
    now += 59 * 60_000;
    active.touch();
    assert.deepEqual(await manager.sweepIdle(), [], 'nothing is idle for more than 60 minutes yet');
    now += 2 * 60_000;
    assert.deepEqual(await manager.sweepIdle(), [idle.id]);
    assert.deepEqual(await countLabelled({ server: config.serverName, session: idle.id }), { containers: 0, networks: 0 });
    assert.deepEqual(await countLabelled({ server: config.serverName, session: active.id }), { containers: 3, networks: 1 });
    assert.throws(() => manager.authenticate(idle.id, idle.token), /no session .* removed after 60 minutes without activity/);
  } finally {
    await manager.disposeAll();
  }
  assert.deepEqual(await countLabelled({ server: config.serverName }), { containers: 0, networks: 0 });
});
