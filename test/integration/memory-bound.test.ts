/**
 * A page cannot grow the server's memory: one that acknowledges every byte but never reads its
 * socket, while its shell prints as fast as it can, makes the server hold the shell once the
 * socket's backlog passes its bound. The server runs as its own process, so its RSS is its own.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { it } from 'node:test';
import WebSocket from 'ws';
import { encode, PROTOCOL_VERSION } from '../../common/protocol.js';
import { readMemory } from '../../bench/support/bench-server.js';
import { apiClient } from '../utils/api.js';
import { engineSkipReason, removeServerContainers } from '../utils/engine.js';
import { tempStateDir, uniqueServerName } from '../utils/lab-server.js';
import { startServerProcess } from '../utils/server-process.js';
import { terminalUrl } from '../utils/terminal-client.js';

const MIB = 1024 * 1024;

it('keeps server memory flat under a page that acks everything and reads nothing', { skip: await engineSkipReason() }, async (t) => {
  const stateDir = tempStateDir();
  // Pings would drop this page within seconds; turn them down to test the backlog bound alone.
  const serverName = uniqueServerName('test');
  const server = await startServerProcess({
    IPVS_LAB_SERVER_NAME: serverName,
    IPVS_LAB_REQUIRE_IPVS: 'false',
    IPVS_LAB_STATE_DIR: stateDir,
    IPVS_LAB_PING_SECONDS: '300',
  });
  try {
    await server.waitForLog(/ready: sessions can start/);
    const api = apiClient(server.baseUrl);
    const session = await api.createSession('ipvs-intro');
    const target = terminalUrl(server.baseUrl, session.id, session.token);
    const ws = new WebSocket(target.url, { headers: { ...target.headers } });
    await once(ws, 'open');
    ws.send(encode({ type: 'hello', version: PROTOCOL_VERSION }));
    await once(ws, 'message');
    const pid = server.child.pid!;
    const baseline = readMemory(pid).rssBytes;
    ws.send(encode({ type: 'input', data: 'yes "a line of output that the page will never read"\r' }));
    // From here on the page reads nothing, and claims to have drawn everything, fifty times a second.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const acks = setInterval(() => ws.send(encode({ type: 'ack', offset: Number.MAX_SAFE_INTEGER })), 20);
    let peak = baseline;
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 250));
      peak = Math.max(peak, readMemory(pid).rssBytes);
    }
    clearInterval(acks);
    const growth = (peak - baseline) / MIB;
    t.diagnostic(`server RSS ${(baseline / MIB).toFixed(1)} MiB before, peak growth ${growth.toFixed(1)} MiB over 10 s of yes to a page that never reads`);
    assert.ok(growth < 48, `server RSS grew by ${growth.toFixed(1)} MiB`);
    assert.equal((await api.call('GET', '/api/status')).status, 200, 'the server still answers');
    ws.terminate();
    // Another page of the same session gets the shell back: Ctrl-C reaches it.
    await api.remove(session);
  } finally {
    server.child.kill('SIGKILL');
    await once(server.child, 'exit');
    rmSync(stateDir, { recursive: true, force: true });
    // A killed server keeps its sessions for a next start that never comes.
    await removeServerContainers(serverName);
  }
});
