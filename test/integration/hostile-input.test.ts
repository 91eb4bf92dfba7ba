/**
 * What a curious or careless learner, or a web page the operator visits, can throw at the server:
 * it answers every bad request with a 4xx, never crashes, never leaks internals, refuses foreign
 * Host and Origin headers, caps and pings terminal sockets, and removes a session whose creator
 * gave up. The server runs in this process: anything thrown out of a listener would end the test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { SessionCreated, TerminalTicket } from '../../common/api.js';
import { encode, PROTOCOL_VERSION } from '../../common/protocol.js';
import { typeAndWait } from '../../server/src/client/type-and-wait.js';
import { apiClient } from '../utils/api.js';
import { countLabelled, engineSkipReason } from '../utils/engine.js';
import { startLabServer, type RunningLabServer } from '../utils/lab-server.js';
import { rawRequest, upgradeRequest } from '../utils/raw-http.js';
import { TerminalClient, terminalUrl } from '../utils/terminal-client.js';

const skip = await engineSkipReason();

describe('a server no input can crash', { skip }, () => {
  let lab: RunningLabServer;
  let api: ReturnType<typeof apiClient>;
  let session: SessionCreated;
  let port: number;

  before(async () => {
    lab = await startLabServer({ requireIpvs: false, allowedHosts: ['lab.example.org'], pingSeconds: 1, maxPagesPerSession: 3 });
    api = apiClient(lab.baseUrl);
    port = Number(new URL(lab.baseUrl).port);
    session = await api.createSession('ipvs-intro');
  });
  after(async () => {
    await lab?.stop();
  });

  const stillServing = async () => assert.equal((await api.call('GET', '/api/status')).status, 200, 'the server still answers');

  it('answers malformed paths and escapes without a 5xx, and upgrades to them with a 4xx', async () => {
    for (const path of ['//', '//[', '/api/sessions/%E0%A4%A', '/s/%ZZ', '/assets/%00', '/api/sessions/x/steps/%/check', `/${'a'.repeat(8000)}`]) {
      const plain = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      // `//` is the landing page to express, which is fine: what matters is an answer, not a 500 or a crash.
      assert.ok(plain.status < 500, `GET ${path.slice(0, 40)} answered ${plain.status}`);
      for (const upgradePath of [path, `${path}/terminal`, `/api/sessions/${session.id}/terminal?ticket=%E0%A4%A`]) {
        const upgrade = await rawRequest(port, upgradeRequest(upgradePath, port));
        assert.ok(upgrade.status >= 400 && upgrade.status < 500, `upgrade of ${upgradePath.slice(0, 40)} answered ${upgrade.status}`);
      }
    }
    await stillServing();
  });

  it('refuses a huge or malformed request body with a 4xx that says what is wrong', async () => {
    const huge = await api.call<{ error: string }>('POST', '/api/sessions', undefined, JSON.stringify({ lab: 'x'.repeat(100_000) }));
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error, 'the request body is too large (at most 16 KiB)');
    const broken = await api.call<{ error: string }>('POST', '/api/sessions', undefined, '{"lab": [');
    assert.equal(broken.status, 400);
    assert.match(broken.body.error, /^the request body is not valid JSON/);
    await stillServing();
  });

  it('never shows internals: a failing page gets a 500 with a reference, not a stack', async () => {
    await using broken = await startLabServer({ requireIpvs: false }, { webDist: '/nonexistent/web' });
    const res = await fetch(`${broken.baseUrl}/`);
    assert.equal(res.status, 500);
    const body = await res.text();
    assert.match(body, /the server failed to answer this request \(reference [0-9a-f]{8} in the server&#39;s log\)/);
    assert.ok(!body.includes('/nonexistent'), 'no path from the server in the page');
  });

  it('sends a content security policy and nosniff with every answer', async () => {
    for (const path of ['/', `/s/${session.id}`, '/api/status', '/nowhere', '/api/nowhere']) {
      const res = await fetch(lab.baseUrl + path);
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'.*frame-ancestors 'none'/, path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
    }
  });

  it('refuses a Host it does not serve, before routing: DNS rebinding gets nothing', async () => {
    const before = lab.server.sessionManager!.size;
    const rebound = await rawRequest(
      port,
      `POST /api/sessions HTTP/1.1\r\nHost: rebind.attacker.example:${port}\r\nContent-Type: application/json\r\nContent-Length: 20\r\nConnection: close\r\n\r\n{"lab":"ipvs-intro"}`,
    );
    assert.equal(rebound.status, 403);
    assert.match((JSON.parse(rebound.body) as { error: string }).error, /does not answer to Host "rebind\.attacker\.example:\d+"/);
    assert.equal(lab.server.sessionManager!.size, before, 'no session was started');
    const page = await rawRequest(port, `GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`);
    assert.equal(page.status, 403);
    const listed = await rawRequest(port, `GET /api/labs HTTP/1.1\r\nHost: lab.example.org\r\nConnection: close\r\n\r\n`);
    assert.equal(listed.status, 200, 'a name in IPVS_LAB_ALLOWED_HOSTS is served');
    const crossSite = await rawRequest(
      port,
      `POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: https://evil.example\r\nContent-Type: application/json\r\nContent-Length: 20\r\nConnection: close\r\n\r\n{"lab":"ipvs-intro"}`,
    );
    assert.equal(crossSite.status, 403, 'a write from another site is refused');
    assert.equal(lab.server.sessionManager!.size, before, 'still no session was started');
  });

  it('opens terminals with one-use tickets from allowed origins, or a bearer token; never with the token in the URL', async () => {
    const ticket = async () => (await api.call<TerminalTicket>('POST', `/api/sessions/${session.id}/terminal-tickets`, session.token)).body.ticket;
    const path = `/api/sessions/${session.id}/terminal`;
    const evil = await rawRequest(port, upgradeRequest(`${path}?ticket=${await ticket()}`, port, { Origin: 'https://evil.example' }));
    assert.equal(evil.status, 403);
    assert.match(evil.body, /does not answer to Origin "https:\/\/evil\.example"/);
    const noOrigin = await rawRequest(port, upgradeRequest(`${path}?ticket=${await ticket()}`, port));
    assert.equal(noOrigin.status, 403, 'a ticket is for pages, which send Origin');
    const inUrl = await rawRequest(port, upgradeRequest(`${path}?token=${session.token}`, port));
    assert.equal(inUrl.status, 403, 'the token is not accepted in the URL');

    const good = await ticket();
    const page = await TerminalClient.connect({ url: `${lab.baseUrl.replace('http', 'ws')}${path}?ticket=${good}`, headers: { Origin: lab.baseUrl } });
    await page.nextMessage('ready');
    await page.close();
    const again = await rawRequest(port, upgradeRequest(`${path}?ticket=${good}`, port, { Origin: lab.baseUrl }));
    assert.equal(again.status, 403, 'a ticket works once');
    assert.match(again.body, /expired, was used already, or belongs to another session/);
    assert.equal((await api.call('POST', `/api/sessions/${session.id}/terminal-tickets`, 'wrong')).status, 403);
  });

  it('survives resize storms racing the shell exit', async () => {
    const term = await TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, session.token));
    await term.waitFor(/root@host/);
    for (let round = 0; round < 5; round++) {
      term.send('exit\r');
      for (let i = 0; i < 400; i++) term.sendRaw(encode({ type: 'resize', cols: 20 + (i % 200), rows: 5 + (i % 50) }));
      await term.nextMessage('exit', 15_000);
      term.send('\r'); // a new shell
      await term.waitFor(new RegExp(`root@host[\\s\\S]*$`), 15_000);
    }
    assert.match(await typeAndWait(term, 'echo back-$((2*21))'), /back-42/);
    await term.close();
    await stillServing();
  });

  it('caps the terminal sockets of one session and tells the extra page why', async () => {
    const pages = await Promise.all([1, 2, 3].map(() => TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, session.token))));
    for (const p of pages) await p.nextMessage('ready');
    const extra = await TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, session.token), null);
    const [code, reason] = await new Promise<[number, string]>((resolve) => extra.ws.once('close', (c, r) => resolve([c, r.toString()])));
    assert.equal(code, 1013);
    assert.equal(reason, 'this session already has 3 terminal pages open on host; close one and reload');
    await pages[0]!.close();
    const replacement = await TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, session.token));
    await replacement.nextMessage('ready');
    for (const p of [...pages.slice(1), replacement]) await p.close();
  });

  it('drops a dead socket within seconds, and its unread output stops holding the shell', async () => {
    const gateway = lab.server.terminalGateway;
    const healthy = await TerminalClient.connect(terminalUrl(lab.baseUrl, session.id, session.token));
    await healthy.waitFor(/root@host/);
    // A page whose laptop went to sleep: connected, said hello, then reads nothing, answers no ping.
    const target = terminalUrl(lab.baseUrl, session.id, session.token);
    const dead = new WebSocket(target.url, { headers: { ...target.headers } });
    await new Promise((resolve) => dead.once('open', resolve));
    dead.send(encode({ type: 'hello', version: PROTOCOL_VERSION }));
    await new Promise((r) => setTimeout(r, 300));
    (dead as unknown as { _socket: { pause(): void } })._socket.pause();
    assert.equal(gateway.pageCount(session.id), 2);
    // 5 MB of output: far past the 2 MiB the dead page may leave unacknowledged.
    const started = Date.now();
    const out = await typeAndWait(healthy, 'head -c 5000000 /dev/zero | tr "\\0" x | fold -w 100; echo', 60_000);
    assert.ok(out.length > 5_000_000, `the healthy page got all the output (${out.length})`);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(gateway.pageCount(session.id), 1, 'the dead socket was dropped');
    assert.ok(seconds < 30, `the flood finished in ${seconds} s`);
    dead.terminate();
    await healthy.close();
  });

  it('removes a session at once when its creation request is aborted', async () => {
    const before = lab.server.sessionManager!.size;
    const aborter = new AbortController();
    const attempt = fetch(`${lab.baseUrl}/api/sessions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ lab: 'ipvs-intro' }),
      signal: aborter.signal,
    });
    setTimeout(() => aborter.abort(), 150);
    await assert.rejects(attempt, /abort/i);
    const deadline = Date.now() + 60_000;
    const mine = async () => (await countLabelled({ server: lab.config.serverName })).networks;
    while ((await mine()) > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal(await mine(), before, 'no network of the abandoned session is left');
    assert.equal(lab.server.sessionManager!.size, before, 'and no session');
  });
});
