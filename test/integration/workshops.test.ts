/**
 * Workshops on a real engine: an instructor creates one, learners join with its code (from a warm
 * pool or cold), the instructor sees every check live, mirrors a terminal read-only, resets and
 * removes learners, exports results, and ends it; every refusal says why; a restart keeps it all.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { SessionState, WorkshopCreated, WorkshopEvent, WorkshopJoined, WorkshopPublic, WorkshopView } from '../../common/api.js';
import { apiClient } from '../utils/api.js';
import { countLabelled, engineSkipReason } from '../utils/engine.js';
import { startLabServer, tempStateDir, uniqueServerName, type RunningLabServer } from '../utils/lab-server.js';
import { TerminalClient, terminalUrl } from '../utils/terminal-client.js';

const skip = await engineSkipReason();
const SECRET = 'instructor-secret-for-tests-0123';

/** Reads a text/event-stream response into parsed events, until stopped. */
function eventStream(baseUrl: string, workshopId: string, secret = SECRET) {
  const events: WorkshopEvent[] = [];
  const controller = new AbortController();
  const opened = (async () => {
    const res = await fetch(`${baseUrl}/api/workshops/${workshopId}/events`, { headers: { Authorization: `Bearer ${secret}` }, signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += decoder.decode(value, { stream: true });
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (data) events.push(JSON.parse(data.slice(6)) as WorkshopEvent);
          }
        }
      } catch {
        // aborted
      }
    })();
  })();
  return {
    events,
    opened,
    /** The first event after `from` that matches, waiting up to `timeoutMs`. */
    async next(match: (e: WorkshopEvent) => boolean, timeoutMs = 1000, from = 0): Promise<WorkshopEvent> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.slice(from).find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events).slice(0, 600)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => controller.abort(),
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('workshops', { skip }, () => {
  let lab: RunningLabServer;
  let api: ReturnType<typeof apiClient>;
  const instructor = () => apiClient(lab.baseUrl);
  const asInstructor = <T>(method: string, path: string, body?: unknown) => api.call<T & { error?: string }>(method, path, SECRET, body);
  const join = (code: string, name: string, token?: string) =>
    api.call<WorkshopJoined & { error?: string }>('POST', '/api/workshops/join', token, { code, name });
  const stateDir = tempStateDir();
  const serverName = uniqueServerName('test-ws');

  before(async () => {
    lab = await startLabServer({ requireIpvs: false, instructorToken: SECRET, openSessions: 'false', stateDir, serverName });
    api = instructor();
  });
  after(async () => {
    await lab?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('refuses anonymous sessions on a server that is not open, and says how to open it', async () => {
    const r = await api.call<{ error: string }>('POST', '/api/sessions', undefined, { lab: 'ipvs-intro' });
    assert.equal(r.status, 403);
    assert.match(r.body.error, /join with the code your instructor gave you .*IPVS_LAB_OPEN_SESSIONS=true/);
    const status = await api.call<{ openSessions: boolean }>('GET', '/api/status');
    assert.equal(status.body.openSessions, false);
  });

  it('answers every instructor route with 403 without the secret, and with a wrong one', async () => {
    for (const [method, path] of [
      ['GET', '/api/workshops'],
      ['POST', '/api/workshops'],
      ['GET', '/api/workshops/abc'],
      ['GET', '/api/workshops/abc/events'],
      ['GET', '/api/workshops/abc/results.csv'],
      ['POST', '/api/workshops/abc/learners/def/reset'],
      ['POST', '/api/workshops/abc/learners/def/terminal-tickets'],
      ['DELETE', '/api/workshops/abc/learners/def'],
      ['DELETE', '/api/workshops/abc'],
    ] as const) {
      for (const token of [undefined, 'wrong-secret-0123456789']) {
        const r = await api.call<{ error: string }>(method, path, token, method === 'POST' ? { lab: 'ipvs-intro', seats: 2 } : undefined);
        assert.equal(r.status, 403, `${method} ${path} with ${token ?? 'no secret'}`);
        assert.match(r.body.error, /instructor's secret/);
      }
    }
  });

  it('checks what a workshop is created with, naming the field', async () => {
    for (const [body, pattern] of [
      [{ lab: 'nope', seats: 3 }, /"lab" must be one of: ipvs-intro/],
      [{ lab: 'ipvs-intro', seats: 0 }, /"seats" must be a whole number from 1 to/],
      [{ lab: 'ipvs-intro', seats: 2, warm: 3 }, /"warm" must be a whole number from 0 to 2/],
      [{ lab: 'ipvs-intro', seats: 2, title: 'x'.repeat(101) }, /"title" must be text of at most 100/],
    ] as const) {
      const r = await asInstructor('POST', '/api/workshops', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error ?? '', pattern);
    }
  });

  describe('a workshop of three seats with a warm pool of two', () => {
    let w: WorkshopCreated;
    let ada: WorkshopJoined;
    let events: ReturnType<typeof eventStream>;

    before(async () => {
      const r = await asInstructor<WorkshopCreated>('POST', '/api/workshops', { lab: 'ipvs-intro', title: 'IPVS morning', seats: 3, warm: 2 });
      assert.equal(r.status, 201, r.body.error);
      w = r.body;
      events = eventStream(lab.baseUrl, w.id);
      await events.opened;
    });
    after(() => events?.close());

    it('gives a code, a join link and the settings back', () => {
      assert.match(w.code, /^[A-HJ-NP-Z2-9]{6}$/);
      assert.equal(w.joinUrl, `${lab.baseUrl}/join/${w.code}`);
      assert.deepEqual([w.lab, w.title, w.seats, w.warm], ['ipvs-intro', 'IPVS morning', 3, 2]);
      assert.equal(w.endsAt, undefined);
    });

    it('fills its warm pool in the background', async () => {
      const view = await until('two warm sessions', async () => {
        const v = (await asInstructor<WorkshopView>('GET', `/api/workshops/${w.id}`)).body;
        return v.warm.ready === 2 ? v : undefined;
      });
      assert.deepEqual(view.warm, { wanted: 2, ready: 2 });
      assert.deepEqual(view.learners, []);
      assert.deepEqual(
        view.steps.map((s) => s.id),
        ['intro', 'install', 'backends', 'service', 'real-servers', 'traffic', 'challenge', 'done'],
      );
    });

    it('tells a join page what it is joining, and refuses unknown codes', async () => {
      const info = await api.call<WorkshopPublic>('GET', `/api/workshops/by-code/${w.code.toLowerCase()}`);
      assert.equal(info.status, 200);
      assert.deepEqual(info.body, { code: w.code, title: 'IPVS morning', lab: 'ipvs-intro', labTitle: info.body.labTitle, seats: 3, taken: 0 });
      const unknown = await join('ZZZZZZ', 'Ada');
      assert.equal(unknown.status, 404);
      assert.match(unknown.body.error ?? '', /no workshop has the code ZZZZZZ/);
      const bad = await join(w.code, '  ');
      assert.equal(bad.status, 400);
      assert.match(bad.body.error ?? '', /give a name of 1 to 40 characters/);
    });

    it('hands a learner a warm session at once, with a token of its own, and tells the instructor within a second', async () => {
      const from = events.events.length;
      const started = Date.now();
      const r = await join(w.code, 'Ada');
      const took = Date.now() - started;
      assert.equal(r.status, 201, r.body.error);
      ada = r.body;
      assert.equal(ada.workshop, w.id);
      assert.equal(ada.lab, 'ipvs-intro');
      assert.equal(ada.url, `/s/${ada.id}?token=${encodeURIComponent(ada.token)}`);
      assert.ok(took < 2000, `a warm join took ${took} ms`);
      const joined = await events.next((e) => e.type === 'join', 1000, from);
      assert.deepEqual(joined, { type: 'join', at: joined.at, name: 'Ada', sessionId: ada.id, warm: true });
      const state = await api.call<SessionState>('GET', `/api/sessions/${ada.id}`, ada.token);
      assert.equal(state.status, 200);
      assert.deepEqual(state.body.limits.workshop, { id: w.id, title: 'IPVS morning', name: 'Ada' });
      // The pool refills: one more free seat than learners wanted... two seats left, two warm.
      await until('the pool refilled', async () =>
        (await asInstructor<WorkshopView>('GET', `/api/workshops/${w.id}`)).body.warm.ready === 2 ? true : undefined,
      );
    });

    it('refuses a name taken in the workshop, unless the request carries that learner token', async () => {
      const again = await join(w.code, 'ada');
      assert.equal(again.status, 409);
      assert.match(again.body.error ?? '', /the name "ada" is already taken|the name "Ada" is already taken/);
      const back = await join(w.code, 'Ada', ada.token);
      assert.equal(back.status, 200);
      assert.equal(back.body.id, ada.id);
      assert.equal(back.body.token, ada.token);
      const otherToken = await join(w.code, 'Ada', 'not-the-token');
      assert.equal(otherToken.status, 409);
    });

    it("never lets a learner's token open an instructor route or another learner's session", async () => {
      const view = await api.call<{ error: string }>('GET', `/api/workshops/${w.id}`, ada.token);
      assert.equal(view.status, 403);
      const bob = await join(w.code, 'Bob');
      assert.equal(bob.status, 201);
      const cross = await api.call<{ error: string }>('GET', `/api/sessions/${bob.body.id}`, ada.token);
      assert.equal(cross.status, 403);
    });

    it('sends every check, passed or not, to the instructor within a second, and shows it in the grid', async () => {
      const from = events.events.length;
      const failed = await api.check({ id: ada.id, token: ada.token, lab: 'ipvs-intro', url: '' }, 'service');
      assert.equal(failed.passed, false);
      const e1 = await events.next((e) => e.type === 'check', 1000, from);
      assert.deepEqual(e1, { type: 'check', at: e1.at, name: 'Ada', sessionId: ada.id, step: 'service', passed: false, message: failed.message });
      const passed = await api.check({ id: ada.id, token: ada.token, lab: 'ipvs-intro', url: '' }, 'intro');
      assert.equal(passed.passed, true);
      await events.next((e) => e.type === 'check' && e.step === 'intro' && e.passed, 1000, from);
      const view = (await asInstructor<WorkshopView>('GET', `/api/workshops/${w.id}`)).body;
      const row = view.learners.find((l) => l.name === 'Ada')!;
      assert.equal(row.sessionId, ada.id);
      assert.equal(row.currentStep, 'install');
      assert.ok(row.idleSeconds >= 0 && row.idleSeconds < 60);
      const intro = row.steps.find((s) => s.id === 'intro')!;
      assert.equal(intro.passed, true);
      assert.equal(typeof intro.passedAt, 'number');
      const service = row.steps.find((s) => s.id === 'service')!;
      assert.deepEqual([service.passed, service.failures, service.lastMessage], [false, 1, failed.message]);
      assert.equal(view.totals.intro, 1);
      assert.equal(view.totals.service, 0);
      assert.deepEqual(
        view.learners.map((l) => l.name),
        ['Ada', 'Bob'],
      );
    });

    it('exports results as CSV: a column per step with the time it passed', async () => {
      const res = await fetch(`${lab.baseUrl}/api/workshops/${w.id}/results.csv`, { headers: { Authorization: `Bearer ${SECRET}` } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
      assert.match(res.headers.get('content-disposition') ?? '', new RegExp(`attachment; filename="?${w.code}-ipvs-intro-results\\.csv"?$`));
      const lines = (await res.text()).split('\r\n');
      assert.equal(lines[0], 'name,intro,install,backends,service,real-servers,traffic,challenge,done');
      assert.match(lines[1]!, /^Ada,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z,,,,,,,$/);
      assert.equal(lines[2], 'Bob,,,,,,,,');
    });

    it('is full at its seat limit, and says so', async () => {
      const cara = await join(w.code, 'Cara');
      assert.equal(cara.status, 201);
      const dan = await join(w.code, 'Dan');
      assert.equal(dan.status, 409);
      assert.match(dan.body.error ?? '', /the workshop "IPVS morning" is full: all 3 seats are taken/);
      // No warm session beyond the seats: the pool empties as the seats fill.
      const view = (await asInstructor<WorkshopView>('GET', `/api/workshops/${w.id}`)).body;
      assert.equal(view.warm.ready, 0);
      assert.equal(view.learners.length, 3);
    });

    it("mirrors a learner's terminal read-only: the instructor sees the typing and cannot type", async () => {
      const learner = await TerminalClient.connect(terminalUrl(lab.baseUrl, ada.id, ada.token), { cols: 100, rows: 30 });
      await learner.nextMessage('ready');
      const mirror = await TerminalClient.connect(
        { url: `${lab.baseUrl.replace(/^http/, 'ws')}/api/workshops/${w.id}/learners/${ada.id}/terminal`, headers: { Authorization: `Bearer ${SECRET}` } },
        { cols: 20, rows: 5 },
      );
      await mirror.nextMessage('ready');
      learner.send('echo typed-by-$((6*7))-ada\r');
      await mirror.waitFor(/typed-by-42-ada/);
      mirror.send('echo mirror-$((5*5))-wrote\r');
      const refused = await mirror.nextMessage('error');
      assert.match(refused.message, /read-only mirror/);
      learner.send('echo after\r');
      await learner.waitFor(/after\r\n/);
      assert.doesNotMatch(learner.output, /mirror-25-wrote/, 'the mirror input never reached the shell');
      // The learner's terminal keeps its own size: the mirror's hello did not resize it.
      learner.send('stty size\r');
      await learner.waitFor(/30 100/);
      // A mirror that never acknowledges output never holds the learner's shell back (4.6 MB, past the 2 MiB watermark).
      mirror.ackEvery = Infinity;
      const mark = learner.output.length;
      learner.send('seq 1 600000; echo flood-$((40+2))-done\r');
      await learner.waitFor(/flood-42-done\r\n/, 60_000, mark);
      await Promise.all([learner.close(), mirror.close()]);
      const byLearner = await TerminalClient.connect({
        url: `${lab.baseUrl.replace(/^http/, 'ws')}/api/workshops/${w.id}/learners/${ada.id}/terminal`,
        headers: { Authorization: `Bearer ${ada.token}` },
      }).then(
        () => 'opened',
        (e: Error) => e.message,
      );
      assert.match(byLearner, /upgrade refused: 403/);
    });

    it("resets a learner's environment: fresh containers, progress kept, the page told and reconnected", async () => {
      const before = lab.server.sessionManager!.lookup(ada.id).environment.hosts.get('host')!.containerId;
      const page = await TerminalClient.connect(terminalUrl(lab.baseUrl, ada.id, ada.token));
      const ready = await page.nextMessage('ready');
      const closed = new Promise<number>((resolve) => page.ws.once('close', (code) => resolve(code)));
      const from = events.events.length;
      const r = await asInstructor('POST', `/api/workshops/${w.id}/learners/${ada.id}/reset`, { keepProgress: true });
      assert.equal(r.status, 204, r.body?.error);
      const notice = await page.nextMessage('notice');
      assert.equal(notice.kind, 'reset');
      assert.match(notice.message, /fresh environment/);
      assert.equal(await closed, 1012);
      await events.next((e) => e.type === 'reset' && e.sessionId === ada.id, 1000, from);
      const after = lab.server.sessionManager!.lookup(ada.id).environment.hosts.get('host')!.containerId;
      assert.notEqual(after, before);
      const again = await TerminalClient.connect(terminalUrl(lab.baseUrl, ada.id, ada.token), { terminal: ready.terminal, resumeFrom: 10 });
      const newReady = await again.nextMessage('ready');
      assert.notEqual(newReady.terminal, ready.terminal);
      assert.equal((await again.nextMessage('notice')).kind, 'reset', 'a page that connects after the reset is told too');
      await again.close();
      const state = (await api.call<SessionState>('GET', `/api/sessions/${ada.id}`, ada.token)).body;
      assert.equal(state.steps.find((s) => s.id === 'intro')!.passed, true, 'progress kept');
      const cleared = await asInstructor('POST', `/api/workshops/${w.id}/learners/${ada.id}/reset`, { keepProgress: false });
      assert.equal(cleared.status, 204);
      const fresh = (await api.call<SessionState>('GET', `/api/sessions/${ada.id}`, ada.token)).body;
      assert.ok(
        fresh.steps.every((s) => !s.passed),
        'progress cleared',
      );
    });

    it('removes a learner: their containers go, their page is told, their seat is free', async () => {
      const bob = (await asInstructor<WorkshopView>('GET', `/api/workshops/${w.id}`)).body.learners.find((l) => l.name === 'Bob')!;
      const r = await asInstructor('DELETE', `/api/workshops/${w.id}/learners/${bob.sessionId}`);
      assert.equal(r.status, 204);
      assert.deepEqual(await countLabelled({ server: lab.config.serverName, session: bob.sessionId }), { containers: 0, networks: 0 });
      const gone = await api.call<{ error: string }>('GET', `/api/sessions/${bob.sessionId}`);
      assert.equal(gone.status, 410);
      assert.match(gone.body.error, /removed from its workshop by the instructor/);
      const view = (await asInstructor<WorkshopView>('GET', `/api/workshops/${w.id}`)).body;
      assert.deepEqual(
        view.learners.map((l) => l.name),
        ['Ada', 'Cara'],
      );
    });

    it('keeps workshops, learners and results across a restart', async () => {
      await lab.server.stop('keep');
      lab = await startLabServer({ requireIpvs: false, instructorToken: SECRET, openSessions: 'false', stateDir, serverName });
      api = apiClient(lab.baseUrl);
      const view = (await asInstructor<WorkshopView>('GET', `/api/workshops/${w.id}`)).body;
      assert.equal(view.code, w.code);
      assert.deepEqual(
        view.learners.map((l) => [l.name, l.state]),
        [
          ['Ada', 'live'],
          ['Cara', 'live'],
        ],
      );
      const back = await join(w.code, 'Ada', ada.token);
      assert.equal(back.status, 200);
      assert.equal(back.body.id, ada.id);
    });

    it('ends: every container of every learner and warm session goes, and the code stops working', async () => {
      const r = await asInstructor('DELETE', `/api/workshops/${w.id}`);
      assert.equal(r.status, 204);
      // A warm session that was starting when the workshop ended is removed as it comes up.
      await until(
        'every container gone',
        async () => {
          const left = await countLabelled({ server: lab.config.serverName });
          return left.containers + left.networks === 0 ? true : undefined;
        },
        30_000,
      );
      const code = await join(w.code, 'Eve');
      assert.equal(code.status, 404);
      // Its results stay readable after the end.
      const results = (await asInstructor<WorkshopView>('GET', `/api/workshops/${w.id}`)).body;
      assert.deepEqual(
        results.learners.map((l) => [l.name, l.state, l.endedReason]),
        [
          ['Ada', 'ended', 'workshop-ended'],
          ['Cara', 'ended', 'workshop-ended'],
        ],
      );
      assert.equal(results.learners[0]!.steps.find((s) => s.id === 'intro')!.passed, false, 'Ada cleared her progress at the reset');
      const ended = await api.call<{ error: string }>('GET', `/api/sessions/${ada.id}`, ada.token);
      assert.equal(ended.status, 410);
      assert.match(ended.body.error, /workshop .* ended/);
    });
  });

  it('warns learners before a timed workshop ends, late joiners too, and ends it on time', async () => {
    let now = Date.now();
    await using timed = await startLabServer({ requireIpvs: false, instructorToken: SECRET }, { now: () => now });
    const client = apiClient(timed.baseUrl);
    const created = await client.call<WorkshopCreated>('POST', '/api/workshops', SECRET, { lab: 'ipvs-intro', seats: 2, minutes: 8 });
    assert.equal(created.status, 201);
    assert.equal(created.body.endsAt, now + 8 * 60_000);
    // Eight minutes is within the ten-minute warning: the next tick warns, and a learner who joins after it is warned too.
    await new Promise((r) => setTimeout(r, 5500));
    const joined = await client.call<WorkshopJoined>('POST', '/api/workshops/join', undefined, { code: created.body.code, name: 'Late' });
    assert.equal(joined.status, 201);
    const page = await TerminalClient.connect(terminalUrl(timed.baseUrl, joined.body.id, joined.body.token));
    const warning = await page.nextMessage('notice');
    assert.deepEqual([warning.kind, warning.at], ['workshop-ending', created.body.endsAt]);
    assert.match(warning.message, /ends soon/);
    const state = await client.call<SessionState>('GET', `/api/sessions/${joined.body.id}`, joined.body.token);
    assert.equal(state.body.limits.workshop?.endsAt, created.body.endsAt);
    now += 8 * 60_000;
    const ended = await page.nextMessage('notice', 10_000);
    assert.equal(ended.kind, 'workshop-ended');
    await page.close();
    await until(
      'the workshop ended',
      async () => ((await client.call('GET', `/api/sessions/${joined.body.id}`, joined.body.token)).status === 410 ? true : undefined),
      10_000,
    );
  });
});
