/**
 * Without a reachable Docker engine the server still starts, serves the page, and says what to
 * do, in the status API and in every refusal.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { it } from 'node:test';
import { startServerProcess } from '../utils/server-process.js';

it('explains a missing Docker engine instead of crashing', async () => {
  // Port 1 on loopback: nothing listens there.
  const server = await startServerProcess({ DOCKER_HOST: 'tcp://127.0.0.1:1', IPVS_LAB_SERVER_NAME: 'preflight-test' });
  try {
    await server.waitForLog(/cannot start sessions/, 60_000);
    const status = (await (await fetch(`${server.baseUrl}/api/status`)).json()) as { state: string; message: string };
    assert.equal(status.state, 'failed');
    assert.match(
      status.message,
      /^No Docker engine answers at tcp:\/\/127\.0\.0\.1:1 \(.*\)\. Start Docker, or set DOCKER_HOST to an engine that runs, then restart ipvs-lab\.$/,
    );
    const page = await fetch(`${server.baseUrl}/`);
    assert.equal(page.status, 200, 'the landing page is still served');
    const create = await fetch(`${server.baseUrl}/api/sessions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"lab":"ipvs-intro"}',
    });
    assert.equal(create.status, 503);
    assert.match(((await create.json()) as { error: string }).error, /No Docker engine answers at tcp:\/\/127\.0\.0\.1:1/);
    const labs = await fetch(`${server.baseUrl}/api/labs`);
    assert.equal(labs.status, 200, 'labs are listed without an engine');
  } finally {
    server.child.kill('SIGTERM');
    await once(server.child, 'exit');
  }
});
