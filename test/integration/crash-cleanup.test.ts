/**
 * A server that dies without cleaning up (SIGKILL) leaves its containers behind; the next server
 * with the same name removes all of them when it starts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { it } from 'node:test';
import { apiClient } from '../utils/api.js';
import { countLabelled } from '../utils/engine.js';
import { uniqueServerName } from '../utils/lab-server.js';
import { startServerProcess } from '../utils/server-process.js';

it('a restarted server removes every container a crashed one left behind', async () => {
  const serverName = uniqueServerName('crash');
  const env = { IPVS_LAB_SERVER_NAME: serverName, IPVS_LAB_REQUIRE_IPVS: 'false' };

  const first = await startServerProcess(env);
  await first.waitForLog(/ready: sessions can start/);
  const api = apiClient(first.baseUrl);
  const a = await api.createSession('ipvs-intro');
  const b = await api.createSession('ipvs-intro');
  assert.notEqual(a.id, b.id);
  assert.deepEqual(await countLabelled({ server: serverName }), { containers: 6, networks: 2 });

  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  assert.deepEqual(await countLabelled({ server: serverName }), { containers: 6, networks: 2 }, 'a killed server cannot clean up');

  const second = await startServerProcess(env);
  try {
    await second.waitForLog(/ready: sessions can start/);
    assert.match(second.log(), /removed 6 containers and 2 networks left behind by an earlier run of server/);
    assert.deepEqual(await countLabelled({ server: serverName }), { containers: 0, networks: 0 });
  } finally {
    second.child.kill('SIGTERM');
    await once(second.child, 'exit');
  }
});

it('a server stopped with SIGTERM removes its sessions on the way out', async () => {
  const serverName = uniqueServerName('term');
  const server = await startServerProcess({ IPVS_LAB_SERVER_NAME: serverName, IPVS_LAB_REQUIRE_IPVS: 'false' });
  await server.waitForLog(/ready: sessions can start/);
  await apiClient(server.baseUrl).createSession('ipvs-intro');
  assert.equal((await countLabelled({ server: serverName })).containers, 3);
  server.child.kill('SIGTERM');
  const [code] = (await once(server.child, 'exit')) as [number | null];
  assert.equal(code, 0);
  assert.deepEqual(await countLabelled({ server: serverName }), { containers: 0, networks: 0 });
});
