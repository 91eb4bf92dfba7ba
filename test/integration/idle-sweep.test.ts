/**
 * Idle sessions are removed with their containers, and their learner is told why. The clock is
 * injected, so the test does not wait an hour; the containers are real.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiClient } from '../utils/api.js';
import { countLabelled, engineSkipReason } from '../utils/engine.js';
import { startLabServer } from '../utils/lab-server.js';
import { TerminalClient, terminalUrl } from '../utils/terminal-client.js';

it(
  'warns the page of a session close to the idle limit, removes it past the limit, keeps an active one, and says why',
  { skip: await engineSkipReason() },
  async () => {
    let now = Date.now();
    await using lab = await startLabServer({ requireIpvs: false, idleMinutes: 60 }, { now: () => now });
    const api = apiClient(lab.baseUrl);
    const manager = lab.server.sessionManager!;
    const idle = await api.createSession('ipvs-intro');
    const active = await api.createSession('ipvs-intro');
    const page = await TerminalClient.connect(terminalUrl(lab.baseUrl, idle.id, idle.token));
    await page.nextMessage('ready');
    now += 54 * 60_000;
    assert.deepEqual(await manager.sweepIdle(), []);
    assert.equal(page.messages.filter((m) => m.type === 'notice').length, 0, 'no warning 6 minutes before');
    now += 5 * 60_000;
    assert.equal((await api.call('GET', `/api/sessions/${active.id}`, active.token)).status, 200, 'reading the state is activity');
    assert.deepEqual(await manager.sweepIdle(), [], 'nothing is idle for more than 60 minutes yet');
    // The learner's page is warned before the limit, with the time the session goes.
    const warning = await page.nextMessage('notice');
    assert.equal(warning.kind, 'idle-warning');
    assert.equal(warning.at, now - 59 * 60_000 + 60 * 60_000);
    assert.match(warning.message, /will be removed soon: nothing has happened in it for 59 minutes, and the limit is 60/);
    now += 2 * 60_000;
    assert.deepEqual(await manager.sweepIdle(), [idle.id]);
    // ...and told why when it goes.
    const removed = await page.nextMessage('notice');
    assert.equal(removed.kind, 'removed');
    assert.match(removed.message, /after 60 minutes without activity/);
    await page.close();
    assert.deepEqual(await countLabelled({ server: lab.config.serverName, session: idle.id }), { containers: 0, networks: 0 });
    assert.equal((await countLabelled({ server: lab.config.serverName, session: active.id })).networks, 1);
    const gone = await api.call<{ error: string }>('GET', `/api/sessions/${idle.id}`, idle.token);
    assert.equal(gone.status, 410);
    assert.match(gone.body.error, new RegExp(`session ${idle.id} was removed at .* after 60 minutes without activity`));
  },
);
