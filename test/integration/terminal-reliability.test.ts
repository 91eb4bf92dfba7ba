/**
 * Terminals that survive the network and hostile pages, on a real engine and a real shell:
 * reconnects resume exactly, a lost range is reported as a gap, a flood is throttled by flow
 * control and Ctrl-C still works, two pages mirror one shell, bad sizes are clamped or refused,
 * and a fuzzed socket changes nothing for anyone else.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { SessionCreated } from '../../common/api.js';
import { encode, MAX_CLIENT_FRAME_BYTES, PROTOCOL_VERSION } from '../../common/protocol.js';
import { typeAndWait } from '../../server/src/client/type-and-wait.js';
import { wsText } from '../../server/src/client/ws-text.js';
import { HIGH_WATERMARK } from '../../server/src/terminal/flow-control.js';
import { apiClient } from '../utils/api.js';
import { engineSkipReason } from '../utils/engine.js';
import { startLabServer, type RunningLabServer } from '../utils/lab-server.js';
import { TerminalClient, terminalUrl } from '../utils/terminal-client.js';
import { waitForSize } from '../utils/terminal-size.js';
import { prng } from '../utils/prng.js';

describe('terminal reliability', { skip: await engineSkipReason() }, () => {
  let lab: RunningLabServer;
  let api: ReturnType<typeof apiClient>;
  let a: SessionCreated;
  let b: SessionCreated;
  const url = (s: SessionCreated) => terminalUrl(lab.baseUrl, s.id, s.token);
  const terminalOf = (s: SessionCreated) => lab.server.sessionManager!.authenticate(s.id, s.token).terminal;

  before(async () => {
    // 64 KiB of history, so the gap test does not need megabytes of output.
    lab = await startLabServer({ requireIpvs: false, replayKib: 64 });
    api = apiClient(lab.baseUrl);
    [a, b] = await Promise.all([api.createSession('ipvs-intro'), api.createSession('ipvs-intro')]);
  });
  after(async () => {
    await lab?.stop();
  });

  it('a page that drops mid-output and reconnects gets every line exactly once, in order', async () => {
    const first = await TerminalClient.connect(url(a));
    await first.waitFor(/root@host/);
    // Few sleeps: a fork costs a tenth of a second on the emulated VM engine.
    first.send('for i in $(seq 1 300); do echo line-$i; [ $((i % 20)) = 0 ] && sleep 0.1; done; echo finished-$((1+1))\r');
    await first.waitFor(/line-40\r\n/);
    await first.close();
    const seen = first.output;
    const resumed = await TerminalClient.connect(url(a), { resumeFrom: first.received });
    await resumed.waitFor(/finished-2/, 120_000);
    const all = seen + resumed.output;
    const lines = [...all.matchAll(/^line-(\d+)\r$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(
      lines,
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
    await resumed.close();
  });

  it('reports a gap when the output missed is larger than the history kept, then carries on', async () => {
    const page = await TerminalClient.connect(url(a));
    await typeAndWait(page, 'true');
    const left = page.received;
    await page.close();
    // ~200 KB of output while nobody watches: more than the 64 KiB kept.
    const other = await TerminalClient.connect(url(a), { resumeFrom: terminalOf(a).outputEnd });
    other.ackEvery = 1024;
    await typeAndWait(other, 'seq 1 40000 | tr "\\n" " "; echo', 60_000);
    await other.close();
    const back = await TerminalClient.connect(url(a), { resumeFrom: left });
    const gap = await back.nextMessage('gap');
    assert.equal(gap.from, left);
    assert.ok(gap.to > left + 64 * 1024, `gap ${gap.from}-${gap.to}`);
    await typeAndWait(back, 'echo still-$((2+2))');
    assert.match(back.output, /still-4/);
    await back.close();
  });

  it('pauses a flood for a page that does not acknowledge, and Ctrl-C still stops it', async () => {
    const slow = await TerminalClient.connect(url(b));
    await slow.waitFor(/root@host/);
    slow.ackEvery = Infinity; // a page that draws nothing
    slow.keepOutput = false;
    slow.send('yes flood-line-of-some-length\r');
    const terminal = terminalOf(b);
    const deadline = Date.now() + 30_000;
    while (!terminal.paused && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(terminal.paused, true, 'the server paused the shell');
    await new Promise((r) => setTimeout(r, 1000));
    const unacked = slow.received - slow.acked;
    assert.ok(unacked <= HIGH_WATERMARK + 64 * 1024, `the page got ${unacked} unacknowledged code units; the high watermark is ${HIGH_WATERMARK}`);
    const stalled = slow.received;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(slow.received, stalled, 'nothing more is sent while paused');

    slow.send('\x03');
    slow.keepOutput = true;
    slow.ackEvery = 16 * 1024;
    slow.ack(slow.received);
    const mark = slow.output.length;
    await slow.waitFor(/\^C\r\n[^]*root@host/, 30_000, mark);
    assert.equal(terminal.paused, false);
    await typeAndWait(slow, 'echo calm-$((3+3))');
    await slow.close();
  });

  it('two pages on one session mirror the same shell', async () => {
    const one = await TerminalClient.connect(url(b));
    const two = await TerminalClient.connect(url(b));
    await Promise.all([one.nextMessage('ready'), two.nextMessage('ready')]);
    const from1 = one.output.length;
    const from2 = two.output.length;
    one.send('echo from-one-$((10+1))\r');
    await Promise.all([one.waitFor(/from-one-11/, 10_000, from1), two.waitFor(/from-one-11/, 10_000, from2)]);
    two.send('echo from-two-$((10+2))\r');
    await Promise.all([one.waitFor(/from-two-12/, 10_000, from1), two.waitFor(/from-two-12/, 10_000, from2)]);
    await Promise.all([one.close(), two.close()]);
  });

  it('clamps out-of-range sizes and refuses non-numbers, without harm', async () => {
    const page = await TerminalClient.connect(url(b));
    await page.nextMessage('ready');
    const raw = (m: unknown) => page.sendRaw(JSON.stringify(m));
    raw({ type: 'resize', cols: 'wide', rows: 30 });
    assert.match((await page.nextMessage('error')).message, /resize needs numeric cols and rows, got "wide" x 30/);
    raw({ type: 'resize', cols: null, rows: [] });
    await page.nextMessage('error');
    page.sendRaw('{"type":"resize","cols":1e999,"rows":-5}'); // Infinity after JSON.parse
    await page.nextMessage('error');
    raw({ type: 'resize', cols: 0, rows: -3 });
    await waitForSize(page, '1 2');
    raw({ type: 'resize', cols: 100000, rows: 99999.7 });
    await waitForSize(page, '200 500');
    raw({ type: 'resize', cols: 120.9, rows: 40.2 });
    await waitForSize(page, '40 120');
    await page.close();
  });

  it('survives thousands of random and malformed frames; other sessions are unaffected', async () => {
    const rand = prng(20261126);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const randomString = (n: number) => Array.from({ length: n }, () => String.fromCharCode(Math.floor(rand() * 0xd7ff))).join('');
    const frames: (string | Buffer)[] = [];
    for (let i = 0; i < 3000; i++) {
      frames.push(
        pick<() => string | Buffer>([
          () => randomString(Math.floor(rand() * 200)),
          () => `{"type":"${pick(['input', 'resize', 'hello', 'ack', 'output', '', 'nope'])}"`,
          () =>
            JSON.stringify({
              type: pick(['input', 'resize', 'ack', 'hello']),
              data: pick([1, null, {}, [], true]),
              cols: pick(['a', -1, null, 1e308]),
              rows: pick([{}, 2, 'b']),
              offset: pick([-1, 1.5, 'z', 2 ** 60]),
              version: pick([0, 2, '1']),
            }),
          () => JSON.stringify(pick([null, 1, 'str', [], [1, 2], true])),
          () => Buffer.from(Array.from({ length: Math.floor(rand() * 100) + 1 }, () => Math.floor(rand() * 256))),
          () => JSON.stringify({ type: 'input', data: 'x'.repeat(MAX_CLIENT_FRAME_BYTES + 10) }),
        ])(),
      );
    }
    const victim = new WebSocket(url(a).url, { headers: { ...url(a).headers } });
    await new Promise((resolve, reject) => victim.once('open', resolve).once('error', reject));
    let errors = 0;
    victim.on('message', (raw) => {
      if (wsText(raw).includes('"type":"error"')) errors++;
    });
    victim.send(encode({ type: 'hello', version: PROTOCOL_VERSION }));
    for (const f of frames) victim.send(f);
    // Far over any limit: ws closes this socket (1009), and only this one.
    const closed = new Promise<number>((resolve) => victim.once('close', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 2000));
    assert.ok(errors > 2000, `error frames answered: ${errors}`);
    victim.send('x'.repeat(8 * MAX_CLIENT_FRAME_BYTES));
    assert.equal(await closed, 1009);

    assert.equal((await api.call('GET', '/api/labs')).status, 200, 'the server is up');
    const bystander = await TerminalClient.connect(url(b));
    assert.ok(/unaffected-8/.test(await typeAndWait(bystander, 'echo unaffected-$((4+4))')), 'the other session answers');
    await bystander.close();
    const same = await TerminalClient.connect(url(a), { cols: 100, rows: 30 });
    // Clear whatever the fuzz left on the command line (valid input and 2-column resize frames occur
    // in it). Readline's state after random keys is the shell's, not the server's: bash drops or
    // splits keys typed while it handles an interrupt or while docker still applies the resize. So
    // interrupt, let the shell settle, and try the sentinel again if that line was mangled. A dead
    // session fails every try.
    let answer = '';
    for (let attempt = 1; attempt <= 3 && !/same-session-ok-10/.test(answer); attempt++) {
      same.send('\x03');
      await new Promise((r) => setTimeout(r, 1000));
      answer = await typeAndWait(same, 'echo same-session-ok-$((5+5))', 20_000).catch((e: Error) => e.message);
    }
    assert.ok(/same-session-ok-10/.test(answer), `the fuzzed session still answers; it printed ${JSON.stringify(answer.slice(-300))}`);
    await same.close();
  });
});
