/**
 * A workshop, as an instructor runs one. (a) Time from `POST /api/workshops/join` to the first
 * prompt byte over the learner's terminal WebSocket, joining from a full warm pool (WARM sessions
 * kept started) and from a workshop without one, one learner at a time. (b) The server's memory
 * with BENCH_WORKSHOP_LEARNERS learners (default 30) joined, JOIN_CONCURRENCY at a time, each with
 * a terminal page open at its prompt: VmRSS from /proc, and the V8 heap after a full GC, read
 * through the inspector of the server (a child process started with `--inspect=127.0.0.1:0`).
 * The dashboard's event stream is read throughout, so the `join` events confirm which joins were
 * served from the pool.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import type { WorkshopCreated, WorkshopEvent, WorkshopJoined, WorkshopView } from '../common/api.js';
import { TerminalClient, terminalUrl } from '../server/src/client/terminal-client.js';
import { apiClient } from '../test/utils/api.js';
import { MemorySampler, startChildServer, type BenchServer } from './support/bench-server.js';
import { watchClient } from './support/output-watch.js';
import { LAB, openShell, pool, type OpenShell } from './support/shell.js';
import { positiveInteger } from './support/settings.js';
import { mib, ms, rounded, sleep, summarize } from './support/stats.js';

/** Sessions the warm workshop keeps started. */
const WARM = 3;
/** Timed joins of each kind. */
const JOINS = 6;
/** Learners joining at once in the memory part: a class arriving, without flooding the engine. */
const JOIN_CONCURRENCY = 5;
const PROMPT_TIMEOUT_MS = 60_000;
const POOL_TIMEOUT_MS = 180_000;

type Api = ReturnType<typeof apiClient>;

interface HeapReading {
  /** VmRSS as the server itself reports it (process.memoryUsage), after the GC. */
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
}

/**
 * The server's V8 inspector, found in its log: runs a full GC and reads process.memoryUsage()
 * inside the server, which /proc cannot tell.
 */
class ServerInspector {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (raw: Buffer) => {
      const reply = JSON.parse(raw.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      const waiter = reply.id === undefined ? undefined : this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id!);
      if (reply.error) waiter.reject(new Error(`inspector: ${reply.error.message}`));
      else waiter.resolve(reply.result);
    });
  }

  static async connect(server: BenchServer): Promise<ServerInspector> {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(server.log())?.[1];
    if (!url) throw new Error(`the server did not start its inspector (NODE_OPTIONS=--inspect); its log:\n${server.log().slice(0, 2000)}`);
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new ServerInspector(ws);
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async afterGc(): Promise<HeapReading> {
    await this.call('HeapProfiler.collectGarbage');
    const result = (await this.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as {
      result: { value: string };
    };
    const m = JSON.parse(result.result.value) as { rss: number; heapUsed: number; heapTotal: number; external: number };
    return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external };
  }

  close(): void {
    this.ws.close();
  }
}

/** A workshop's event stream as the dashboard reads it (`event: <type>` + `data: <json>` blocks). */
class EventStream {
  readonly events: WorkshopEvent[] = [];
  readonly problems: string[] = [];
  private readonly done: Promise<void>;

  private constructor(
    body: ReadableStream<Uint8Array>,
    private readonly abort: AbortController,
  ) {
    this.done = this.read(body);
  }

  static async open(baseUrl: string, workshopId: string, secret: string): Promise<EventStream> {
    const abort = new AbortController();
    const res = await fetch(`${baseUrl}/api/workshops/${workshopId}/events`, { headers: { Authorization: `Bearer ${secret}` }, signal: abort.signal });
    if (res.status !== 200 || !res.body) throw new Error(`GET /api/workshops/${workshopId}/events answered ${res.status}: ${await res.text()}`);
    return new EventStream(res.body, abort);
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffered += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          this.block(buffered.slice(0, end));
          buffered = buffered.slice(end + 2);
        }
      }
    } catch {
      // Aborted by close(), or the server went away: the events so far are what counts.
    }
  }

  private block(text: string): void {
    const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith(':') && !l.startsWith('retry:'));
    if (lines.length === 0) return;
    const name = lines.find((l) => l.startsWith('event: '))?.slice(7);
    const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
    if (name === undefined || data === undefined) {
      this.problems.push(`event block without event or data: ${JSON.stringify(text)}`);
      return;
    }
    const event = JSON.parse(data) as WorkshopEvent;
    if (event.type !== name) this.problems.push(`event ${name} carries data of type ${event.type}`);
    this.events.push(event);
  }

  /** Whether the learner's session was handed from the pool, per its `join` event. */
  joinedWarm(sessionId: string): boolean | undefined {
    const join = this.events.find((e): e is Extract<WorkshopEvent, { type: 'join' }> => e.type === 'join' && e.sessionId === sessionId);
    return join?.warm;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

/** The instructor's side of the API, failing loudly with the route, the request and the answer. */
function instructorApi(api: Api, secret: string) {
  const expect = async <T>(method: string, path: string, status: number, body?: unknown): Promise<T> => {
    const r = await api.call<T & { error?: string }>(method, path, secret, body);
    if (r.status !== status)
      throw new Error(`${method} ${path}${body === undefined ? '' : ` ${JSON.stringify(body)}`} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  return {
    create: (body: { lab: string; seats: number; warm: number; title: string }) => expect<WorkshopCreated>('POST', '/api/workshops', 201, body),
    view: (id: string) => expect<WorkshopView>('GET', `/api/workshops/${id}`, 200),
    /** Ends a workshop; one already ended (404) is fine. */
    async end(id: string): Promise<void> {
      const r = await api.call<{ error?: string }>('DELETE', `/api/workshops/${id}`, secret);
      if (r.status !== 204 && r.status !== 404) throw new Error(`DELETE /api/workshops/${id} answered ${r.status}: ${r.body?.error}`);
    },
    /** Resolves with the time it took once the pool holds `ready` started sessions. */
    async poolReady(id: string, ready: number): Promise<number> {
      const start = performance.now();
      for (;;) {
        const view = await this.view(id);
        if (view.warm.ready >= ready) return performance.now() - start;
        if (performance.now() - start > POOL_TIMEOUT_MS)
          throw new Error(`workshop ${id}: the warm pool holds ${view.warm.ready} of ${ready} sessions after ${POOL_TIMEOUT_MS / 1000} s`);
        await sleep(100);
      }
    },
  };
}

async function join(api: Api, code: string, name: string): Promise<WorkshopJoined> {
  const r = await api.call<WorkshopJoined & { error?: string }>('POST', '/api/workshops/join', undefined, { code, name });
  if (r.status !== 201) throw new Error(`POST /api/workshops/join {"code": "${code}", "name": "${name}"} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** One learner joining, timed as time-to-shell times a session: to the first prompt byte over the WebSocket. */
async function timedJoin(baseUrl: string, api: Api, code: string, name: string): Promise<{ joined: WorkshopJoined; postMs: number; totalMs: number }> {
  const t0 = performance.now();
  const joined = await join(api, code, name);
  const t201 = performance.now();
  const client = await TerminalClient.connect(terminalUrl(baseUrl, joined.id, joined.token), { cols: 120, rows: 40 });
  try {
    const tPrompt = await watchClient(client).until((w) => w.tail.includes('root@host'), PROMPT_TIMEOUT_MS, `the prompt of ${name} (session ${joined.id})`);
    return { joined, postMs: t201 - t0, totalMs: tPrompt - t0 };
  } finally {
    await client.close();
  }
}

/** A growth in MiB with its sign: RSS can shrink when the allocator hands pages back. */
function signedMib(bytes: number): string {
  return `${bytes < 0 ? '-' : '+'}${mib(Math.abs(bytes))}`;
}

function kibEach(bytes: number, n: number): string {
  return `${(bytes / n / 1024).toFixed(0)} KiB`;
}

function heapLine(h: HeapReading): string {
  return `heap used ${mib(h.heapUsedBytes)} of ${mib(h.heapTotalBytes)}, external ${mib(h.externalBytes)}`;
}

export async function workshop(): Promise<Record<string, unknown>> {
  const learners = positiveInteger('BENCH_WORKSHOP_LEARNERS', 30, 200);
  const secret = randomBytes(24).toString('base64url');
  const server = await startChildServer('bench-workshop', {
    IPVS_LAB_INSTRUCTOR_TOKEN: secret,
    IPVS_LAB_MAX_SESSIONS: String(Math.max(40, learners + WARM)),
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:0`.trim(),
  });
  const api = apiClient(server.baseUrl);
  const instructor = instructorApi(api, secret);
  /** Workshops still to end. */
  const workshops = new Set<string>();
  const streams: EventStream[] = [];
  const shells: OpenShell[] = [];
  let inspector: ServerInspector | undefined;
  let memory: MemorySampler | undefined;
  try {
    inspector = await ServerInspector.connect(server);
    const baselineRss = server.memory().rssBytes;
    const baselineHeap = await inspector.afterGc();
    console.log(
      `workshop: server pid ${server.pid} (${server.origin}); before any learner: RSS ${mib(baselineRss)}; after a full GC: RSS ${mib(baselineHeap.rssBytes)}, ${heapLine(baselineHeap)}`,
    );

    // ---- (a) time to a shell: warm pool, then none ------------------------------------------------
    const warmWorkshop = await instructor.create({ lab: LAB, seats: JOINS + WARM, warm: WARM, title: 'bench: warm pool' });
    workshops.add(warmWorkshop.id);
    const warmEvents = await EventStream.open(server.baseUrl, warmWorkshop.id, secret);
    streams.push(warmEvents);
    const fillMs = await instructor.poolReady(warmWorkshop.id, WARM);
    console.log(`workshop: warm pool of ${WARM} ready ${ms(fillMs, 0)} after the workshop was created; ${JOINS} joins, one at a time, each with the pool full`);
    const warmTotals: number[] = [];
    const warmPosts: number[] = [];
    const served: string[] = [];
    for (let i = 1; i <= JOINS; i++) {
      await instructor.poolReady(warmWorkshop.id, WARM);
      const r = await timedJoin(server.baseUrl, api, warmWorkshop.code, `warm learner ${i}`);
      warmTotals.push(r.totalMs);
      warmPosts.push(r.postMs);
      served.push(r.joined.id);
      console.log(`  warm join ${i}/${JOINS} ${r.joined.id}: 201 after ${ms(r.postMs, 1)}, prompt over the WebSocket at ${ms(r.totalMs, 1)}`);
    }
    // The last join set the pool refilling: let it finish, so no cold join shares the engine with it.
    await instructor.poolReady(warmWorkshop.id, WARM);
    const coldWorkshop = await instructor.create({ lab: LAB, seats: JOINS, warm: 0, title: 'bench: no pool' });
    workshops.add(coldWorkshop.id);
    const coldEvents = await EventStream.open(server.baseUrl, coldWorkshop.id, secret);
    streams.push(coldEvents);
    const coldTotals: number[] = [];
    const coldPosts: number[] = [];
    for (let i = 1; i <= JOINS; i++) {
      const r = await timedJoin(server.baseUrl, api, coldWorkshop.code, `cold learner ${i}`);
      coldTotals.push(r.totalMs);
      coldPosts.push(r.postMs);
      served.push(r.joined.id);
      console.log(`  cold join ${i}/${JOINS} ${r.joined.id}: 201 after ${ms(r.postMs, 1)}, prompt over the WebSocket at ${ms(r.totalMs, 1)}`);
    }
    await sleep(200);
    const warmServed = served.slice(0, JOINS).filter((id) => warmEvents.joinedWarm(id) === true).length;
    const coldServed = served.slice(JOINS).filter((id) => coldEvents.joinedWarm(id) === false).length;
    const eventProblems = [...warmEvents.problems, ...coldEvents.problems];
    const warm = summarize(warmTotals);
    const cold = summarize(coldTotals);
    console.log(
      `workshop: join to prompt from the warm pool: median ${ms(warm.p50, 1)}, max ${ms(warm.max, 1)} (201 alone median ${ms(summarize(warmPosts).p50, 1)}); join events say warm for ${warmServed}/${JOINS}`,
    );
    console.log(
      `workshop: join to prompt with no pool:       median ${ms(cold.p50, 1)}, max ${ms(cold.max, 1)} (201 alone median ${ms(summarize(coldPosts).p50, 1)}); join events say cold for ${coldServed}/${JOINS}`,
    );
    for (const p of eventProblems.slice(0, 5)) console.log(`  problem: ${p}`);
    const ending = performance.now();
    await Promise.all([warmWorkshop.id, coldWorkshop.id].map((id) => instructor.end(id)));
    workshops.delete(warmWorkshop.id);
    workshops.delete(coldWorkshop.id);
    console.log(`workshop: ended both workshops (${2 * JOINS + WARM} sessions) in ${ms(performance.now() - ending, 0)}`);

    // ---- (b) memory with a room of learners -----------------------------------------------------
    const before = await inspector.afterGc();
    const roomWorkshop = await instructor.create({ lab: LAB, seats: learners, warm: 0, title: 'bench: a room' });
    workshops.add(roomWorkshop.id);
    memory = new MemorySampler(() => server.memory(), 250);
    console.log(
      `workshop: ${learners} learners join, ${JOIN_CONCURRENCY} at a time, each opening a terminal page; before, after a full GC: RSS ${mib(before.rssBytes)}, ${heapLine(before)}`,
    );
    const roomStart = performance.now();
    const roomMs: number[] = [];
    await pool(Array.from({ length: learners }), JOIN_CONCURRENCY, async (_, i) => {
      const t = performance.now();
      const joined = await join(api, roomWorkshop.code, `learner ${String(i + 1).padStart(2, '0')}`);
      shells[i] = await openShell(server.baseUrl, joined);
      roomMs.push(performance.now() - t);
    });
    const roomWall = performance.now() - roomStart;
    const room = summarize(roomMs);
    const view = await instructor.view(roomWorkshop.id);
    const live = view.learners.filter((l) => l.state === 'live').length;
    console.log(
      `workshop: ${learners} learners at their prompt after ${(roomWall / 1000).toFixed(1)} s (join to prompt drawn: median ${ms(room.p50, 0)}, max ${ms(room.max, 0)}); dashboard lists ${view.learners.length}, ${live} live`,
    );
    await sleep(1000);
    const loadedRss = server.memory().rssBytes;
    const loaded = await inspector.afterGc();
    const mem = memory.stop();
    const rssGrowth = loaded.rssBytes - before.rssBytes;
    const heapGrowth = loaded.heapUsedBytes - before.heapUsedBytes;
    console.log(
      `workshop: server with ${learners} learners and ${learners} pages open: RSS ${mib(loadedRss)} (peak while joining ${mib(mem.peakRssBytes)}, VmHWM ${mib(mem.final.hwmBytes)}); after a full GC: RSS ${mib(loaded.rssBytes)}, ${heapLine(loaded)}`,
    );
    console.log(
      `workshop: growth for ${learners} learners (after a full GC, from just before they joined): RSS ${signedMib(rssGrowth)} (${kibEach(rssGrowth, learners)} a learner), heap used ${signedMib(heapGrowth)} (${kibEach(heapGrowth, learners)} a learner)`,
    );
    // A server bug shows here first: a warning or error logged while learners joined and worked.
    const complaints = server
      .log()
      .split('\n')
      .filter((l) => /^\S+ (warn|error) /.test(l));
    console.log(`workshop: the server logged ${complaints.length} warning(s) or error(s)`);
    for (const c of complaints.slice(0, 5)) console.log(`  server: ${c.slice(0, 300)}`);
    const toMiB = (b: number) => Math.round((b / 1048576) * 10) / 10;
    return {
      warmPool: WARM,
      joins: JOINS,
      poolFillMs: Math.round(fillMs),
      warmJoinMs: rounded(warm, 1),
      coldJoinMs: rounded(cold, 1),
      warmJoinsServedWarm: warmServed,
      coldJoinsServedCold: coldServed,
      eventProblems: eventProblems.slice(0, 5),
      learners,
      roomJoinWallSeconds: Math.round(roomWall / 100) / 10,
      roomJoinMs: rounded(room, 0),
      liveLearners: live,
      rssBaselineMiB: toMiB(baselineRss),
      rssBaselineAfterGcMiB: toMiB(baselineHeap.rssBytes),
      heapUsedBaselineMiB: toMiB(baselineHeap.heapUsedBytes),
      rssLoadedMiB: toMiB(loadedRss),
      rssLoadedAfterGcMiB: toMiB(loaded.rssBytes),
      rssPeakMiB: toMiB(mem.peakRssBytes),
      heapUsedLoadedMiB: toMiB(loaded.heapUsedBytes),
      heapTotalLoadedMiB: toMiB(loaded.heapTotalBytes),
      rssBeforeJoinsAfterGcMiB: toMiB(before.rssBytes),
      heapUsedBeforeJoinsMiB: toMiB(before.heapUsedBytes),
      rssPerLearnerKiB: Math.round(rssGrowth / learners / 1024),
      heapPerLearnerKiB: Math.round(heapGrowth / learners / 1024),
      serverWarnings: complaints.length,
    };
  } finally {
    memory?.stop();
    await Promise.all(shells.filter(Boolean).map((sh) => sh.client.close()));
    await Promise.all(streams.map((s) => s.close()));
    inspector?.close();
    const ending = performance.now();
    await Promise.all([...workshops].map((id) => instructor.end(id))).catch((e: Error) => console.log(`workshop: ending the workshops failed: ${e.message}`));
    console.log(`workshop: ended ${workshops.size} workshop(s) in ${ms(performance.now() - ending, 0)}`);
    const leftovers = await server.stop();
    if (leftovers > 0) console.log(`workshop: ${leftovers} container(s) were left behind and removed`);
  }
}
