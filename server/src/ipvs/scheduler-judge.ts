/*
 * Judges a sequence of picks (which real server answered each of N sequential, short TCP
 * connections) against what the Linux kernel's IPVS scheduler would produce, following
 * net/netfilter/ipvs/ip_vs_<scheduler>.c (read in a Linux 6.17 tree; the kernel 6.1 captures in
 * test/fixtures/ipvs/kernel-6.1 agree with it).
 *
 * Not modelled: upper/lower connection thresholds (`-x`/`-y`, the OVERLOAD flag), and connections
 * that stay open while the next one is scheduled. Persistence (`-p`) is judged as what it is to a
 * client: its connections follow its first one (`persistent`).
 */

import { checkSentRequests, countAnswers, ERROR_PREFIX, joinWithAnd, sendingFailure, showSequence } from './round-robin.js';

/** A real server as the judge needs it, read just before the traffic. */
export interface JudgedServer {
  /** The name requests report when this server answers, e.g. `nginx-1`. */
  readonly name: string;
  readonly weight: number;
  readonly activeConns: number;
  readonly inactiveConns: number;
}

/** One request, in the order sent. */
export interface JudgedRequest {
  /** A server name, `error:<what went wrong>` for a failed request, or `unknown:<body>` for a reply no server sends. */
  readonly backend: string;
  /** The client address (`sh`, `mh` hash it); requests without one count as one client. */
  readonly source?: string;
  /** The address connected to (`dh` hashes it); requests without one count as one destination. */
  readonly destination?: string;
}

export interface ScheduleInput {
  /** One of {@link JUDGED_SCHEDULERS}. */
  readonly scheduler: string;
  /** Scheduler flags as `ipvsadm -Ln` shows them: `sh-port`, `sh-fallback`, `mh-port`, `mh-fallback`. */
  readonly flags?: readonly string[];
  /**
   * In the kernel's list order, as `/proc/net/ip_vs` prints it: newest first, not the address
   * order of `ipvsadm -Ln`. rr and wrr depend on it; the others read it only to break ties.
   */
  readonly servers: readonly JudgedServer[];
  /** In order; the sender stops at the first failure, which is then the last entry. */
  readonly requests: readonly JudgedRequest[];
  /** How many requests were meant to be sent. */
  readonly requested: number;
  /**
   * The service is persistent (`-p`): each client's connections follow its first one, whatever
   * the scheduler, until the persistence times out.
   */
  readonly persistent?: boolean;
}

/** The outcome of {@link judgeSchedule}, ready to show to a learner. */
export interface ScheduleVerdict {
  readonly passed: boolean;
  /** One sentence naming the values that decided the verdict. */
  readonly message: string;
  /** Requests answered per server, every server listed; failed and unknown requests are not counted. */
  readonly counts: Record<string, number>;
  /** The judged picks, `backend` of each request as given. */
  readonly sequence: readonly string[];
  /**
   * What the scheduler would have picked, one entry per request, when the scheduler allows only
   * one outcome: the observed picks as long as the scheduler allows them, then the scheduler's own
   * (`error:no server available` where it has none). For wrr, the closest of its possible
   * sequences. Absent for the hashing schedulers, whose hash the judge does not compute.
   */
  readonly expected?: readonly string[];
}

export const JUDGED_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'fo', 'ovf', 'sh', 'dh', 'mh'] as const;
export type JudgedScheduler = (typeof JUDGED_SCHEDULERS)[number];

const KNOWN_FLAGS: readonly string[] = ['sh-port', 'sh-fallback', 'mh-port', 'mh-fallback'];

/**
 * With the port hashed, N connections all landing on one server happens by chance with
 * probability sum(share^N); below this, and with at least MIN_REQUESTS_TO_SPREAD requests, it is
 * taken as the port not being hashed. Two equal servers reach it at 6 requests (3%); skewed
 * weights need more (3:1 needs 11), so a heavy server is not mistaken for a missing flag.
 */
const MIN_REQUESTS_TO_SPREAD = 6;
const MAX_CHANCE_ALL_ON_ONE = 0.05;

/** The marker `expected` holds where the scheduler has no server it may pick. */
const NO_SERVER = `${ERROR_PREFIX}no server available`;

interface Judged {
  readonly passed: boolean;
  readonly message: string;
  readonly expected?: readonly string[];
}

/**
 * Judges whether `input.requests`, sent one after another on new, short connections, were
 * scheduled the way the kernel's `input.scheduler` does it.
 *
 * Failures come first, worded as `judgeRoundRobin` words them: a sender that stopped early,
 * a failed request, a reply from no server. Then a reply from a server with weight 0 fails
 * whatever the scheduler: every scheduler skips quiesced servers for new connections. Then:
 *
 * - rr: the picks must walk the servers with weight above 0 in list order, from any start.
 * - wrr: some scheduler state (position anywhere in the list or at its head, current weight from 1
 *   to the maximum) must give exactly these picks; the kernel keeps that state across `ipvsadm`
 *   edits, so the judge does not assume a fresh one.
 * - lc, wlc, sed, nq, fo, ovf: replayed request by request from the connection counts, each
 *   short connection adding one inactive connection to the server that answered it. Servers that
 *   tie for the scheduler's choice are all accepted (the kernel takes the first of them in its
 *   list, which the caller may not know exactly), as long as one list order explains every
 *   tie-break seen.
 * - sh, mh: every request from one source reaches one server; with `sh-port`/`mh-port`, the
 *   source port is hashed too, so requests all landing on one server fail once that is unlikely.
 * - dh: every request to one destination reaches one server.
 *
 * @throws RangeError for a scheduler it does not judge (lblc, lblcr, twos…) or an unknown flag,
 *   no servers, a server listed twice or with a count that is not a whole number, fewer than 1
 *   request, or `requests` that do not fit `requested` (see `judgeRoundRobin`).
 */
export function judgeSchedule(input: ScheduleInput): ScheduleVerdict {
  const { servers, requests, requested } = input;
  const scheduler = checkScheduler(input.scheduler);
  const flags = input.flags ?? [];
  const unknownFlag = flags.find((f) => !KNOWN_FLAGS.includes(f));
  if (unknownFlag !== undefined) {
    throw new RangeError(`judgeSchedule: unknown scheduler flag "${unknownFlag}"; known flags are ${KNOWN_FLAGS.join(', ')}`);
  }
  checkServers(servers);
  if (!Number.isInteger(requested) || requested < 1) {
    throw new RangeError(`judgeSchedule needs at least 1 request to judge a scheduler, got ${requested}`);
  }
  const names = servers.map((s) => s.name);
  const sequence = requests.map((r) => r.backend);
  checkSentRequests('judgeSchedule', sequence, requested);

  const counts = countAnswers(sequence, names);
  const verdict = (judged: Judged): ScheduleVerdict => ({
    passed: judged.passed,
    message: judged.message,
    counts,
    sequence: [...sequence],
    ...(judged.expected === undefined ? {} : { expected: judged.expected }),
  });

  const failure = sendingFailure(sequence, names, requested);
  if (failure !== undefined) return verdict({ passed: false, message: failure });
  const quiesced = quiescedAnswer(scheduler, servers, sequence);
  if (quiesced !== undefined) return verdict({ passed: false, message: quiesced });

  // From here on every entry is the name of a server with weight above 0.
  const picks = sequence.map((name) => names.indexOf(name));
  // A persistence template decides before the scheduler: only a client's first connection is scheduled.
  if (input.persistent) return verdict(judgeHashed('persistent', false, servers, requests));
  switch (scheduler) {
    case 'rr':
      return verdict(judgeRr(servers, picks, counts));
    case 'wrr':
      return verdict(judgeWrr(servers, picks, counts));
    case 'sh':
    case 'mh':
      return verdict(judgeHashed(scheduler, flags.includes(`${scheduler}-port`), servers, requests));
    case 'dh':
      return verdict(judgeHashed(scheduler, false, servers, requests));
    default:
      return verdict(judgeByCounts(scheduler, servers, picks));
  }
}

function checkScheduler(scheduler: string): JudgedScheduler {
  const known = JUDGED_SCHEDULERS.find((s) => s === scheduler);
  if (known === undefined) {
    throw new RangeError(`judgeSchedule cannot judge the scheduler "${scheduler}"; it judges ${joinWithAnd(JUDGED_SCHEDULERS)}`);
  }
  return known;
}

function checkServers(servers: readonly JudgedServer[]): void {
  if (servers.length === 0) throw new RangeError('judgeSchedule needs at least 1 server, got none');
  const names = servers.map((s) => s.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) {
    throw new RangeError(`judgeSchedule: server "${duplicate}" is listed twice in ${names.join(', ')}`);
  }
  for (const s of servers) {
    for (const [what, value] of [
      ['weight', s.weight],
      ['activeConns', s.activeConns],
      ['inactiveConns', s.inactiveConns],
    ] as const) {
      if (!Number.isInteger(value) || value < 0) {
        throw new RangeError(`judgeSchedule: ${s.name} has ${what} ${value}, expected a whole number of at least 0`);
      }
    }
  }
}

/** The message for the first reply from a server with weight 0, if any. */
function quiescedAnswer(scheduler: JudgedScheduler, servers: readonly JudgedServer[], sequence: readonly string[]): string | undefined {
  const index = sequence.findIndex((name) => servers.find((s) => s.name === name)?.weight === 0);
  const name = sequence[index];
  if (name === undefined) return undefined;
  const more = sequence.filter((n) => n === name).length - 1;
  return (
    `${name} has weight 0 but answered request ${index + 1}${more > 0 ? ` and ${more} more` : ''}: a server with weight 0 is quiesced, ` +
    `so ${scheduler} gives it no new connections (sequence: ${showSequence(sequence)})`
  );
}

// ---- rr ------------------------------------------------------------------------------------

/** ip_vs_rr.c: from the last server picked, the next one in the list with weight above 0, wrapping. */
function judgeRr(servers: readonly JudgedServer[], picks: readonly number[], counts: Record<string, number>): Judged {
  const cycle = servers.filter((s) => s.weight > 0).map((s) => s.name);
  const sequence = picks.map((p) => nameAt(servers, p));
  const shown = showSequence(sequence);
  const start = cycle.indexOf(sequence[0] ?? '');
  const expected = sequence.map((_, i) => cycle[(start + i) % cycle.length] ?? '');
  const quiesced = servers.filter((s) => s.weight === 0).map((s) => s.name);
  const quiescedNote = quiesced.length === 0 ? '' : ` (${joinWithAnd(quiesced)} ${quiesced.length === 1 ? 'has' : 'have'} weight 0)`;

  const deviation = sequence.findIndex((name, i) => name !== expected[i]);
  if (deviation === -1) {
    if (cycle.length === 1) {
      return {
        passed: true,
        message: `rr: all ${sequence.length} requests went to ${cycle[0] ?? ''}, the only server with weight above 0${quiescedNote} (sequence: ${shown})`,
        expected,
      };
    }
    return {
      passed: true,
      message:
        `rr: ${sequence.length} requests went to ${joinWithAnd(cycle)} in turn, in the kernel's list order${quiescedNote}, ` +
        `${shareOut(cycle, counts)} (sequence: ${shown})`,
      expected,
    };
  }

  // Uneven counts say more than a wrong order: they are what weights would cause.
  const most = extremeBy(cycle, (n) => counts[n] ?? 0);
  const least = extremeBy(cycle, (n) => -(counts[n] ?? 0));
  const mostCount = counts[most] ?? 0;
  const leastCount = counts[least] ?? 0;
  if (mostCount - leastCount > 1) {
    return {
      passed: false,
      message:
        `${most} answered ${mostCount} of ${sequence.length} requests and ${least} only ${leastCount}: rr gives each server with weight ` +
        `above 0 one new connection in turn, whatever its weight, so the counts should differ by at most 1 (sequence: ${shown})`,
      expected,
    };
  }
  return {
    passed: false,
    message:
      `request ${deviation + 1} went to ${sequence[deviation] ?? ''} but rr sends it to ${expected[deviation] ?? ''}, which follows ` +
      `${sequence[deviation - 1] ?? ''} in the kernel's list (${cycle.join(', ')}): rr takes the servers with weight above 0 in turn ` +
      `(sequence: ${shown})`,
    expected,
  };
}

/** `5 each`, or `nginx-3 3, nginx-2 2, nginx-1 2` when the counts differ. */
function shareOut(names: readonly string[], counts: Record<string, number>): string {
  const first = counts[names[0] ?? ''] ?? 0;
  if (names.every((n) => (counts[n] ?? 0) === first)) return `${first} each`;
  return names.map((n) => `${n} ${counts[n] ?? 0}`).join(', ');
}

// ---- wrr -----------------------------------------------------------------------------------

/**
 * ip_vs_wrr.c keeps cl (the last server picked, or the list head), cw (the current weight), mw
 * (the largest weight less gcd - 1) and di (the gcd of the weights above 0). A pick walks on from
 * cl to the first server with weight >= cw; past the end of the list it lowers cw by di, back to
 * mw once it reaches 0, and starts again from the head.
 */
function wrrPicks(weights: readonly number[], cl: number, cw: number, count: number, observed?: readonly number[]): number[] {
  const { di, mw } = wrrSteps(weights);
  const picks: number[] = [];
  let position = cl;
  let current = cw;
  while (picks.length < count) {
    const next = weights.findIndex((w, i) => i > position && w >= current);
    if (next === -1) {
      current -= di;
      if (current <= 0) current = mw;
      position = -1;
      continue;
    }
    picks.push(next);
    position = next;
    // Enough to rank starting states: stop at the first pick that differs.
    if (observed !== undefined && observed[picks.length - 1] !== next) break;
  }
  return picks;
}

/** ip_vs_wrr_gcd_weight (1 when no weight is above 0) and ip_vs_wrr_max_weight less (di - 1). */
function wrrSteps(weights: readonly number[]): { di: number; mw: number } {
  const di = weights.reduce((g, w) => (w > 0 ? (g === 0 ? w : gcd(g, w)) : g), 0) || 1;
  return { di, mw: Math.max(...weights) - (di - 1) };
}

function judgeWrr(servers: readonly JudgedServer[], picks: readonly number[], counts: Record<string, number>): Judged {
  const weights = servers.map((s) => s.weight);
  const { mw } = wrrSteps(weights);
  const sequence = picks.map((p) => nameAt(servers, p));
  const shown = showSequence(sequence);

  // Every state the kernel can be in, the one right after ipvsadm -A (list head, cw = mw) first,
  // so that the closest sequence is the fresh one when several match as far. cw is never 0:
  // init sets mw, an edit turns 0 into mw, and a pick turns anything below 1 into mw.
  let best = { matched: -1, cl: -1, cw: mw };
  for (let cl = -1; cl < servers.length; cl++) {
    for (let cw = mw; cw >= 1; cw--) {
      const run = wrrPicks(weights, cl, cw, picks.length, picks);
      const matched = run.findIndex((p, i) => p !== picks[i]);
      const length = matched === -1 ? run.length : matched;
      if (length > best.matched) best = { matched: length, cl, cw };
    }
  }
  const expected = wrrPicks(weights, best.cl, best.cw, picks.length).map((p) => nameAt(servers, p));
  const shares = sharesWithWeights(servers, counts, sequence.length);
  if (best.matched === picks.length) {
    return { passed: true, message: `wrr: ${shares}, in the order wrr gives these weights (sequence: ${shown})`, expected };
  }
  const at = best.matched;
  return {
    passed: false,
    message:
      `${shares}, in an order wrr does not give these weights: the closest wrr order, ${showSequence(expected)}, sends request ${at + 1} ` +
      `to ${expected[at] ?? ''}, not ${sequence[at] ?? ''} (sequence: ${shown})`,
    expected,
  };
}

/** `nginx-1 (weight 3) answered 6 of 12 requests, nginx-3 (weight 1) 3 and nginx-2 (weight 1) 3`, busiest first. */
function sharesWithWeights(servers: readonly JudgedServer[], counts: Record<string, number>, total: number): string {
  const weighted = servers.filter((s) => s.weight > 0);
  const byCount = [...weighted].sort((a, b) => (counts[b.name] ?? 0) - (counts[a.name] ?? 0));
  const parts = byCount.map(
    (s, i) => `${s.name} (weight ${s.weight})${i === 0 ? ' answered' : ''} ${counts[s.name] ?? 0}${i === 0 ? ` of ${total} requests` : ''}`,
  );
  return joinWithAnd(parts);
}

// ---- lc, wlc, sed, nq, fo, ovf --------------------------------------------------------------

interface Load {
  readonly name: string;
  readonly weight: number;
  readonly active: number;
  inactive: number;
}

type CountedScheduler = 'lc' | 'wlc' | 'sed' | 'nq' | 'fo' | 'ovf';

/** ip_vs_dest_conn_overhead in include/net/ip_vs.h: an active connection weighs as 256 inactive ones. */
function overhead(s: Load): number {
  return s.active * 256 + s.inactive;
}

/** What each scheduler sends a new connection to, as the end of "…sends a new connection to". */
const RULES: Readonly<Record<CountedScheduler, string>> = {
  lc: 'the server with the fewest connections, an active one counting as 256 inactive ones',
  wlc: 'the server with the fewest connections per unit of weight, an active one counting as 256 inactive ones',
  sed: 'the server with the smallest (active connections + 1) / weight, inactive connections not counting',
  nq: 'the first server in its list with no active connection, and only when every server has one to the smallest (active connections + 1) / weight',
  fo: 'the server with the highest weight',
  ovf: 'the server with the highest weight among those with no more active connections than their weight',
};

/**
 * The servers the scheduler may pick, as indexes: all equally good by its measure, so the kernel
 * takes whichever of them comes first in its list. Empty when none may be picked.
 */
function candidates(scheduler: CountedScheduler, loads: readonly Load[]): number[] {
  const weighted = loads.map((_, i) => i).filter((i) => (loads[i]?.weight ?? 0) > 0);
  const load = (i: number): Load => loads[i] ?? { name: '', weight: 0, active: 0, inactive: 0 };
  // Each compare is negative when a is better; ratios are compared cross-multiplied, as the kernel does.
  const best = (among: readonly number[], compare: (a: Load, b: Load) => number): number[] => {
    const first = among[0];
    if (first === undefined) return [];
    const top = among.reduce((b, i) => (compare(load(i), load(b)) < 0 ? i : b), first);
    return among.filter((i) => compare(load(i), load(top)) === 0);
  };
  const sed = (a: Load, b: Load): number => (a.active + 1) * b.weight - (b.active + 1) * a.weight;
  switch (scheduler) {
    case 'lc':
      return best(weighted, (a, b) => overhead(a) - overhead(b));
    case 'wlc':
      return best(weighted, (a, b) => overhead(a) * b.weight - overhead(b) * a.weight);
    case 'sed':
      return best(weighted, sed);
    case 'nq': {
      const idle = weighted.filter((i) => load(i).active === 0);
      return idle.length > 0 ? idle : best(weighted, sed);
    }
    case 'fo':
      return best(weighted, (a, b) => b.weight - a.weight);
    case 'ovf':
      return best(
        weighted.filter((i) => load(i).active <= load(i).weight),
        (a, b) => b.weight - a.weight,
      );
  }
}

/**
 * What the observed tie-breaks say about the kernel's list order: "a comes before b", learned
 * from a request where a was picked while tying with b. One list order must explain them all.
 */
class LearnedOrder {
  /** a → (b → the request that showed a before b). */
  private readonly before = new Map<number, Map<number, number>>();

  /** The requests that show, directly or through others, that a comes before b; undefined if none do. */
  evidence(a: number, b: number): number[] | undefined {
    const via = new Map<number, { from: number; request: number }>();
    const queue = [a];
    for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
      for (const [next, request] of this.before.get(node) ?? []) {
        if (next === a || via.has(next)) continue;
        via.set(next, { from: node, request });
        queue.push(next);
      }
    }
    if (!via.has(b)) return undefined;
    const requests: number[] = [];
    for (let step = via.get(b); step !== undefined; step = via.get(step.from)) requests.push(step.request);
    return [...new Set(requests)].sort((x, y) => x - y);
  }

  learn(picked: number, tied: readonly number[], request: number): void {
    const after = this.before.get(picked) ?? new Map<number, number>();
    for (const other of tied) if (other !== picked && !after.has(other)) after.set(other, request);
    this.before.set(picked, after);
  }

  /** The one of `tied` the kernel takes: none of the others known to come before it, then the caller's list order. */
  first(tied: readonly number[]): number | undefined {
    return tied.find((i) => tied.every((other) => other === i || this.evidence(other, i) === undefined));
  }
}

function judgeByCounts(scheduler: CountedScheduler, servers: readonly JudgedServer[], picks: readonly number[]): Judged {
  const loads: Load[] = servers.map((s) => ({ name: s.name, weight: s.weight, active: s.activeConns, inactive: s.inactiveConns }));
  const start = joinWithAnd(loads.map(describe));
  const sequence = picks.map((p) => nameAt(servers, p));
  const shown = showSequence(sequence);
  const order = new LearnedOrder();
  const expected: string[] = [];
  let mismatch: string | undefined;

  picks.forEach((observed, i) => {
    const tied = candidates(scheduler, loads);
    const kernel = order.first(tied);
    let pick = kernel;
    if (mismatch === undefined) {
      const seen = load(loads, observed);
      const wanted = kernel === undefined ? undefined : load(loads, kernel);
      // A tie-break the other way round seen earlier: the list order cannot explain both. The
      // most direct evidence makes the plainest sentence.
      const blockers = tied
        .filter((t) => t !== observed)
        .map((t) => ({ t, requests: order.evidence(t, observed) }))
        .filter((b): b is { t: number; requests: number[] } => b.requests !== undefined)
        .sort((a, b) => a.requests.length - b.requests.length);
      const blocker = blockers[0]?.t;
      const earlier = blockers[0]?.requests;
      if (wanted === undefined) {
        mismatch =
          `request ${i + 1} went to ${describe(seen)} but no server qualifies for ${scheduler}, which sends a new connection to ` +
          `${RULES[scheduler]} (sequence: ${shown})`;
      } else if (!tied.includes(observed)) {
        mismatch =
          `request ${i + 1} went to ${describe(seen)} but ${scheduler} picks ${describe(wanted)}: ${scheduler} sends a new connection to ` +
          `${RULES[scheduler]} (sequence: ${shown})`;
      } else if (blocker !== undefined && earlier !== undefined) {
        const other = load(loads, blocker);
        mismatch =
          `request ${i + 1} went to ${describe(seen)}, which ties with ${describe(other)} for ${scheduler}, but ` +
          `${earlier.length === 1 ? 'request' : 'requests'} ${joinWithAnd(earlier.map(String))} showed ${other.name} comes first in the ` +
          `kernel's list, and of servers that tie ${scheduler} always takes the first (sequence: ${shown})`;
      } else {
        order.learn(observed, tied, i + 1);
        pick = observed;
      }
    }
    expected.push(pick === undefined ? NO_SERVER : nameAt(servers, pick));
    // A short connection is closed before the next one is scheduled: it counts as inactive.
    if (pick !== undefined) load(loads, pick).inactive++;
  });

  if (mismatch !== undefined) return { passed: false, message: mismatch, expected };
  const answered = servers.map((s) => ({ name: s.name, count: sequence.filter((n) => n === s.name).length })).filter((a) => a.count > 0);
  const tally = answered.sort((a, b) => b.count - a.count).map((a, i) => `${a.name}${i === 0 ? ' answered' : ''} ${a.count}`);
  return {
    passed: true,
    message:
      `${scheduler}: each of the ${sequence.length} requests went where ${scheduler} sends a new connection, to ${RULES[scheduler]}; ` +
      `starting from ${start}, ${joinWithAnd(tally)} (sequence: ${shown})`,
    expected,
  };
}

function load(loads: Load[], index: number): Load {
  const found = loads[index];
  if (found === undefined) throw new RangeError(`no server at index ${index}`);
  return found;
}

/** `nginx-1 (0 active, 11 inactive, weight 3)`. */
function describe(s: Load): string {
  return `${s.name} (${s.active} active, ${s.inactive} inactive, weight ${s.weight})`;
}

// ---- sh, mh, dh -----------------------------------------------------------------------------

/** What keeps a client (or a destination) on one server: a hash, or persistence (`-p`). */
type Sticky = 'sh' | 'mh' | 'dh' | 'persistent';

const HASHED_WHAT: Readonly<Record<Sticky, string>> = {
  sh: 'sh hashes the client address',
  mh: 'mh looks the client address up in its Maglev table',
  dh: 'dh hashes the destination address',
  persistent: "the service is persistent (-p): a client's first connection picks a server and the kernel sends the next ones to it too",
};

function judgeHashed(scheduler: Sticky, portHashed: boolean, servers: readonly JudgedServer[], requests: readonly JudgedRequest[]): Judged {
  const sequence = requests.map((r) => r.backend);
  const shown = showSequence(sequence);
  const byDestination = scheduler === 'dh';
  // An empty address is a missing one: a sender that could not tell its own address.
  const keyOf = (r: JudgedRequest): string | undefined => {
    const key = byDestination ? r.destination : r.source;
    return key === '' ? undefined : key;
  };

  if (portHashed && scheduler !== 'persistent') return judgePortHashed(scheduler, servers, sequence);

  // Requests without an address share one group: they came from (or went to) the same place.
  const groups = new Map<string | undefined, number[]>();
  requests.forEach((r, i) => groups.set(keyOf(r), [...(groups.get(keyOf(r)) ?? []), i]));
  const rule = `${HASHED_WHAT[scheduler]}, so every connection ${byDestination ? 'to one address' : 'from one client'} goes to the same server`;
  for (const [key, members] of groups) {
    const first = members[0] ?? 0;
    const moved = members.find((i) => sequence[i] !== sequence[first]);
    if (moved === undefined) continue;
    const where = key === undefined ? (byDestination ? 'to the same address' : 'from the same client') : `${byDestination ? 'to' : 'from'} ${key}`;
    return {
      passed: false,
      message:
        `requests ${first + 1} and ${moved + 1} ${key === undefined ? 'were sent' : 'came'} ${where} but went to ${sequence[first] ?? ''} and ` +
        `${sequence[moved] ?? ''}: ${rule} (sequence: ${shown})`,
    };
  }
  const stays = [...groups].map(([key, members]) => {
    const name = sequence[members[0] ?? 0] ?? '';
    const who = key ?? (byDestination ? 'the destination' : 'the client');
    return `${members.length === 1 ? 'the request' : `all ${members.length} requests`} ${byDestination ? 'to' : 'from'} ${who} went to ${name}`;
  });
  return { passed: true, message: `${scheduler === 'persistent' ? 'persistence' : scheduler}: ${joinWithAnd(stays)}: ${rule} (sequence: ${shown})` };
}

function judgePortHashed(scheduler: 'sh' | 'mh' | 'dh', servers: readonly JudgedServer[], sequence: readonly string[]): Judged {
  const shown = showSequence(sequence);
  const weighted = servers.filter((s) => s.weight > 0);
  const total = weighted.reduce((sum, s) => sum + s.weight, 0);
  // Both tables give each server a share of their buckets in proportion to its weight.
  const chance = weighted.reduce((sum, s) => sum + (s.weight / total) ** sequence.length, 0);
  const only = sequence[0] ?? '';
  const flag = `${scheduler}-port`;
  const used = weighted.filter((s) => sequence.includes(s.name)).map((s) => `${s.name} ${sequence.filter((n) => n === s.name).length}`);
  if (weighted.length > 1 && sequence.every((n) => n === only) && sequence.length >= MIN_REQUESTS_TO_SPREAD && chance < MAX_CHANCE_ALL_ON_ONE) {
    return {
      passed: false,
      message:
        `all ${sequence.length} requests went to ${only} although ${flag} is set: the port is hashed too, so connections from different ` +
        `source ports should spread over ${joinWithAnd(weighted.map((s) => s.name))} (all on one server happens ${percent(chance)} of the time) ` +
        `(sequence: ${shown})`,
    };
  }
  return {
    passed: true,
    message: `${scheduler} with ${flag}: ${sequence.length} requests went to ${joinWithAnd(used)}: the source port is hashed too, so each new connection may land elsewhere (sequence: ${shown})`,
  };
}

function percent(p: number): string {
  const value = p * 100;
  return `${value < 1 ? value.toPrecision(1) : value.toFixed(1)}%`;
}

// ---- helpers ----------------------------------------------------------------------------------

function nameAt(servers: readonly JudgedServer[], index: number): string {
  return servers[index]?.name ?? '';
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The first item with the highest score. */
function extremeBy(items: readonly string[], score: (item: string) => number): string {
  let best = items[0] ?? '';
  for (const item of items) if (score(item) > score(best)) best = item;
  return best;
}
