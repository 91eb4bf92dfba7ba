import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseIpvsadmList } from '../../../server/src/ipvs/parse-ipvsadm-list.js';
import { parseProcNetIpVs } from '../../../server/src/ipvs/parse-proc-net-ip-vs.js';
import { judgeRoundRobin } from '../../../server/src/ipvs/round-robin.js';
import { judgeSchedule, type JudgedRequest, type JudgedServer, type ScheduleVerdict } from '../../../server/src/ipvs/scheduler-judge.js';
import { capturedSchedule, kernelFixture } from '../../utils/fixtures.js';

// ---- the kernel 6.1 captures ------------------------------------------------------------------

const realSequence = capturedSchedule;

/** setup.txt lists the backends in the order they were added: nginx-1 is the first. */
const BACKENDS = /backends=(\S+)/.exec(kernelFixture('setup.txt'))?.[1]?.split(',') ?? [];

function nameOf(address: string): string {
  const index = BACKENDS.indexOf(address);
  assert.notEqual(index, -1, `${address} is not a backend in setup.txt`);
  return `nginx-${index + 1}`;
}

/** The real servers of the port 80 service in /proc/net/ip_vs: the kernel's list order. */
function kernelOrder(procFile: string): string[] {
  const service = parseProcNetIpVs(kernelFixture(procFile)).services.find((s) => s.protocol === 'TCP' && s.port === 80);
  assert.ok(service !== undefined, `no TCP port 80 service in ${procFile}`);
  return service.realServers.map((r) => nameOf(r.address));
}

/** Name → real server in an `ipvsadm -Ln` capture taken right after a scheduler's requests. */
function listingAfter(file: string): Map<string, { weight: number; activeConns: number; inactiveConns: number }> {
  const [service] = parseIpvsadmList(kernelFixture(file)).services;
  assert.ok(service !== undefined, `no service in ${file}`);
  return new Map(service.realServers.map((r) => [nameOf(r.address), r]));
}

const picksOf = (sequence: readonly string[], name: string): number => sequence.filter((n) => n === name).length;

/**
 * The servers just before a capture's requests, in kernel order: the listing taken right after
 * them, less one inactive (TIME_WAIT) connection per request each server answered.
 */
function countsBefore(listing: string, sequence: readonly string[], order: readonly string[]): JudgedServer[] {
  const after = listingAfter(listing);
  return order.map((name) => {
    const server = after.get(name);
    assert.ok(server !== undefined, `${name} is not in ${listing}`);
    return { name, weight: server.weight, activeConns: server.activeConns, inactiveConns: server.inactiveConns - picksOf(sequence, name) };
  });
}

/** Backends added 11, 12, 13; ip_vs_add_dest uses list_add, so the kernel lists them 13, 12, 11. */
const THREE = kernelOrder('mixed.proc-net-ip_vs.txt');
/** Two backends, as rr-masq and, once nginx-3 was deleted, the last two captures had them. */
const TWO = kernelOrder('rr-masq.proc-net-ip_vs.txt');
const WEIGHTS_311 = ['wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'dh', 'mh', 'lblc', 'lblcr', 'fo', 'ovf'];

interface Capture {
  readonly label: string;
  readonly sequence: readonly string[];
  readonly servers: readonly JudgedServer[];
}

/** Every capture with the servers as they were just before it, in scheduler-sequences.txt's order. */
function captures(): Capture[] {
  const rr = realSequence('rr');
  const wrr31 = realSequence('wrr (weights 3,1)');
  const quiesced = realSequence('rr (weights 3,0 quiesced)');
  // wrr 3,1 has no listing of its own: the quiesced listing follows it, and the only change in
  // between was nginx-2's weight going from 1 to 0.
  const beforeQuiesced = countsBefore('rr-quiesced.ipvsadm-Ln.txt', quiesced, TWO);
  const beforeWrr31 = beforeQuiesced.map((s) => ({
    ...s,
    weight: s.name === 'nginx-2' ? 1 : s.weight,
    inactiveConns: s.inactiveConns - picksOf(wrr31, s.name),
  }));
  return [
    { label: 'rr', sequence: rr, servers: countsBefore('rr-masq.ipvsadm-Ln.txt', rr, TWO) },
    ...WEIGHTS_311.map((scheduler) => {
      const label = `${scheduler} (weights 3,1,1)`;
      const sequence = realSequence(label);
      return { label, sequence, servers: countsBefore(`${scheduler}-w311.ipvsadm-Ln.txt`, sequence, THREE) };
    }),
    { label: 'wrr (weights 3,1)', sequence: wrr31, servers: beforeWrr31 },
    { label: 'rr (weights 3,0 quiesced)', sequence: quiesced, servers: beforeQuiesced },
  ];
}

function capture(label: string): Capture {
  const found = captures().find((c) => c.label === label);
  assert.ok(found !== undefined, `no capture "${label}"`);
  return found;
}

function judge(scheduler: string, servers: readonly JudgedServer[], sequence: readonly string[], requested = sequence.length): ScheduleVerdict {
  return judgeSchedule({ scheduler, servers, requests: sequence.map((backend) => ({ backend })), requested });
}

function judgeCapture(scheduler: string, label: string): ScheduleVerdict {
  const { servers, sequence } = capture(label);
  return judge(scheduler, servers, sequence);
}

function server(name: string, weight: number, activeConns: number, inactiveConns: number): JudgedServer {
  return { name, weight, activeConns, inactiveConns };
}

const repeat = (name: string, times: number): string[] => Array.from({ length: times }, () => name);

// ---- tests ----------------------------------------------------------------------------------

describe('the kernel 6.1 captures the judge is tested on', () => {
  it('list real servers newest first in /proc/net/ip_vs', () => {
    assert.deepEqual(BACKENDS, ['10.20.0.11', '10.20.0.12', '10.20.0.13']);
    assert.deepEqual(THREE, ['nginx-3', 'nginx-2', 'nginx-1']);
    assert.deepEqual(TWO, ['nginx-2', 'nginx-1']);
  });

  it('chain: the counts derived before each capture are the counts listed after the one before it', () => {
    // The captures ran one after another on one service edited with ipvsadm -E, within the
    // 2 minutes TIME_WAIT connections live, so InActConn only grew: this checks the derivation.
    const all = captures();
    all.slice(1).forEach((next, i) => {
      const previous: Capture | undefined = all[i];
      assert.ok(previous !== undefined);
      for (const s of next.servers) {
        const left: JudgedServer | undefined = previous.servers.find((p) => p.name === s.name);
        const afterPrevious: number = (left?.inactiveConns ?? 0) + picksOf(previous.sequence, s.name);
        assert.equal(s.inactiveConns, afterPrevious, `${s.name} before "${next.label}" vs after "${previous.label}"`);
        assert.equal(s.activeConns, 0);
      }
    });
    assert.deepEqual(capture('rr').servers, [server('nginx-2', 1, 0, 0), server('nginx-1', 1, 0, 0)]);
    const before = listingAfter('rr-masq-before-traffic.ipvsadm-Ln.txt');
    assert.deepEqual([before.get('nginx-2')?.inactiveConns, before.get('nginx-1')?.inactiveConns], [0, 0]);
    assert.deepEqual(capture('lc (weights 3,1,1)').servers, [server('nginx-3', 1, 0, 3), server('nginx-2', 1, 0, 8), server('nginx-1', 3, 0, 11)]);
  });

  it('passes every capture on its own scheduler, the counts derived from the listings', () => {
    for (const { label, sequence, servers } of captures()) {
      const scheduler = label.split(' ')[0] ?? '';
      if (scheduler === 'lblc' || scheduler === 'lblcr') continue;
      const verdict = judge(scheduler, servers, sequence);
      assert.equal(verdict.passed, true, `${label}: ${verdict.message}`);
      if (verdict.expected !== undefined) assert.deepEqual(verdict.expected, sequence, label);
    }
  });

  it('tells the captures apart: which captured sequences each judge accepts', () => {
    const judges = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'fo', 'ovf', 'sh', 'dh', 'mh'];
    const accepted = Object.fromEntries(captures().map((c) => [c.label, judges.filter((j) => judge(j, c.servers, c.sequence).passed).join(' ')]));
    assert.deepEqual(accepted, {
      // Two servers of equal weight and no connections: wrr is rr, and lc and wlc alternate too.
      rr: 'rr wrr lc wlc',
      'wrr (weights 3,1,1)': 'wrr',
      'lc (weights 3,1,1)': 'lc',
      // One server answering everything fits every scheduler that stays put; wlc and lc hinge on the counts.
      'wlc (weights 3,1,1)': 'wlc sed nq fo ovf sh dh mh',
      'sed (weights 3,1,1)': 'sed nq fo ovf sh dh mh',
      'nq (weights 3,1,1)': 'nq sh dh mh',
      'sh (weights 3,1,1)': 'sed nq fo ovf sh dh mh',
      'dh (weights 3,1,1)': 'sed nq fo ovf sh dh mh',
      'mh (weights 3,1,1)': 'lc nq sh dh mh',
      'lblc (weights 3,1,1)': 'sed nq fo ovf sh dh mh',
      'lblcr (weights 3,1,1)': 'nq sh dh mh',
      'fo (weights 3,1,1)': 'sed nq fo ovf sh dh mh',
      'ovf (weights 3,1,1)': 'sed nq fo ovf sh dh mh',
      'wrr (weights 3,1)': 'wrr',
      // Only nginx-1 may be picked: every scheduler sends everything there.
      'rr (weights 3,0 quiesced)': 'rr wrr lc wlc sed nq fo ovf sh dh mh',
    });
  });
});

describe('rr', () => {
  it('passes the real rr capture, which starts with the server added last', () => {
    const verdict = judgeCapture('rr', 'rr');
    assert.equal(verdict.passed, true);
    assert.deepEqual(verdict.counts, { 'nginx-2': 5, 'nginx-1': 5 });
    assert.equal(
      verdict.message,
      "rr: 10 requests went to nginx-2 and nginx-1 in turn, in the kernel's list order, 5 each " +
        '(sequence: nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1)',
    );
  });

  it('fails the wrr 3,1,1 capture: the counts follow the weights', () => {
    const verdict = judgeCapture('rr', 'wrr (weights 3,1,1)');
    assert.equal(verdict.passed, false);
    assert.match(
      verdict.message,
      /^nginx-1 answered 6 of 12 requests and nginx-3 only 3: rr gives each server with weight above 0 one new connection in turn, whatever its weight, so the counts should differ by at most 1 \(sequence: nginx-3 nginx-2 nginx-1 nginx-1 /,
    );
    assert.deepEqual(verdict.expected?.slice(0, 4), ['nginx-3', 'nginx-2', 'nginx-1', 'nginx-3']);
  });

  it('fails the lc capture, and a sequence out of the kernel’s list order even with even counts', () => {
    assert.equal(judgeCapture('rr', 'lc (weights 3,1,1)').passed, false);
    const verdict = judge('rr', capture('wrr (weights 3,1,1)').servers, ['nginx-3', 'nginx-2', 'nginx-1', 'nginx-3', 'nginx-1', 'nginx-2']);
    assert.equal(verdict.passed, false);
    assert.equal(
      verdict.message,
      "request 5 went to nginx-1 but rr sends it to nginx-2, which follows nginx-3 in the kernel's list (nginx-3, nginx-2, nginx-1): " +
        'rr takes the servers with weight above 0 in turn (sequence: nginx-3 nginx-2 nginx-1 nginx-3 nginx-1 nginx-2)',
    );
  });

  it('passes the quiesced capture with weights 3,0 and fails the alternating one: a server with weight 0 gets nothing new', () => {
    const quiesced = capture('rr (weights 3,0 quiesced)');
    assert.deepEqual(quiesced.servers, [server('nginx-2', 0, 0, 38), server('nginx-1', 3, 0, 104)]);
    const verdict = judge('rr', quiesced.servers, quiesced.sequence);
    assert.equal(verdict.passed, true);
    assert.equal(
      verdict.message,
      'rr: all 6 requests went to nginx-1, the only server with weight above 0 (nginx-2 has weight 0) ' +
        '(sequence: nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1)',
    );
    // judgeRoundRobin, which knows no weights, fails the same sequence.
    assert.equal(judgeRoundRobin(quiesced.sequence, TWO).passed, false);

    const alternating = judge('rr', quiesced.servers, realSequence('rr'));
    assert.equal(alternating.passed, false);
    assert.equal(
      alternating.message,
      'nginx-2 has weight 0 but answered request 1 and 4 more: a server with weight 0 is quiesced, so rr gives it no new connections ' +
        '(sequence: nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1)',
    );
  });

  it('fails a reply from a server with weight 0 whatever the scheduler', () => {
    for (const scheduler of ['wrr', 'lc', 'wlc', 'sed', 'nq', 'fo', 'ovf', 'sh', 'dh', 'mh']) {
      const verdict = judge(scheduler, [server('nginx-2', 0, 0, 0), server('nginx-1', 1, 0, 0)], ['nginx-1', 'nginx-2', 'nginx-1']);
      assert.equal(verdict.passed, false, scheduler);
      assert.match(verdict.message, new RegExp(`^nginx-2 has weight 0 but answered request 2: a server with weight 0 is quiesced, so ${scheduler} gives`));
    }
  });
});

describe('wrr', () => {
  it('passes the 3,1,1 capture: the state left by weights 1,1 (current weight 1) from the head of the list', () => {
    const verdict = judgeCapture('wrr', 'wrr (weights 3,1,1)');
    assert.equal(verdict.passed, true);
    assert.equal(
      verdict.message,
      'wrr: nginx-1 (weight 3) answered 6 of 12 requests, nginx-3 (weight 1) 3 and nginx-2 (weight 1) 3, in the order wrr gives these weights ' +
        '(sequence: nginx-3 nginx-2 nginx-1 nginx-1 nginx-1 nginx-3 nginx-2 nginx-1 nginx-1 nginx-1 nginx-3 nginx-2)',
    );
  });

  it('passes the 3,1 capture, which is what a fresh state (current weight 3) gives', () => {
    const verdict = judgeCapture('wrr', 'wrr (weights 3,1)');
    assert.equal(verdict.passed, true, verdict.message);
    assert.deepEqual(verdict.counts, { 'nginx-2': 3, 'nginx-1': 9 });
  });

  it('passes any window of the weighted cycle, from any position and current weight', () => {
    const servers = [server('nginx-2', 1, 0, 0), server('nginx-1', 3, 0, 0)];
    const cycle = ['nginx-1', 'nginx-1', 'nginx-2', 'nginx-1'];
    for (let start = 0; start < cycle.length; start++) {
      const sequence = Array.from({ length: 9 }, (_, i) => cycle[(start + i) % cycle.length] ?? '');
      assert.equal(judge('wrr', servers, sequence).passed, true, sequence.join(' '));
    }
  });

  it('fails the rr capture with weights 3:1, showing the counts, the weights and the closest wrr order', () => {
    const servers = [server('nginx-2', 1, 0, 0), server('nginx-1', 3, 0, 0)];
    const verdict = judge('wrr', servers, realSequence('rr'));
    assert.equal(verdict.passed, false);
    assert.equal(
      verdict.message,
      'nginx-2 (weight 1) answered 5 of 10 requests and nginx-1 (weight 3) 5, in an order wrr does not give these weights: ' +
        'the closest wrr order, nginx-2 nginx-1 nginx-1 nginx-1 nginx-2 nginx-1 nginx-1 nginx-1 nginx-2 nginx-1, sends request 3 to nginx-1, not nginx-2 ' +
        '(sequence: nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1)',
    );
    assert.deepEqual(verdict.expected, ['nginx-2', 'nginx-1', 'nginx-1', 'nginx-1', 'nginx-2', 'nginx-1', 'nginx-1', 'nginx-1', 'nginx-2', 'nginx-1']);
  });

  it('fails four in a row for the 3:1 server: each cycle gives it 3, one more at most at a seam', () => {
    const servers = capture('wrr (weights 3,1)').servers;
    const verdict = judge('wrr', servers, ['nginx-1', 'nginx-1', 'nginx-1', 'nginx-1', 'nginx-2', 'nginx-1', 'nginx-1', 'nginx-1']);
    assert.equal(verdict.passed, false);
    assert.match(verdict.message, /sends request 4 to nginx-2, not nginx-1 \(sequence: /);
  });

  it('fails the lc capture: nginx-1, weight 3, never answered', () => {
    const verdict = judgeCapture('wrr', 'lc (weights 3,1,1)');
    assert.equal(verdict.passed, false);
    assert.match(
      verdict.message,
      /^nginx-3 \(weight 1\) answered 9 of 12 requests, nginx-2 \(weight 1\) 3 and nginx-1 \(weight 3\) 0, in an order wrr does not give/,
    );
  });

  it('handles weights with a common divisor: 4 and 2 behave as 2 and 1', () => {
    const servers = [server('nginx-2', 2, 0, 0), server('nginx-1', 4, 0, 0)];
    assert.equal(judge('wrr', servers, ['nginx-1', 'nginx-2', 'nginx-1', 'nginx-1', 'nginx-2', 'nginx-1']).passed, true);
    assert.equal(judge('wrr', servers, ['nginx-1', 'nginx-1', 'nginx-1', 'nginx-2']).passed, false);
  });
});

describe('lc, wlc, sed and nq, replayed from the connection counts', () => {
  it('lc: derives the captured sequence from the counts, ties going to nginx-3, first in the kernel’s list', () => {
    const verdict = judgeCapture('lc', 'lc (weights 3,1,1)');
    assert.equal(verdict.passed, true);
    assert.equal(
      verdict.message,
      'lc: each of the 12 requests went where lc sends a new connection, to the server with the fewest connections, an active one counting as 256 inactive ones; ' +
        'starting from nginx-3 (0 active, 3 inactive, weight 1), nginx-2 (0 active, 8 inactive, weight 1) and nginx-1 (0 active, 11 inactive, weight 3), ' +
        'nginx-3 answered 9 and nginx-2 3 (sequence: nginx-3 nginx-3 nginx-3 nginx-3 nginx-3 nginx-3 nginx-2 nginx-3 nginx-2 nginx-3 nginx-2 nginx-3)',
    );
  });

  it('lc fails the wlc capture from the same counts: nginx-1 keeps answering with more connections than nginx-2', () => {
    const verdict = judgeCapture('lc', 'wlc (weights 3,1,1)');
    assert.equal(verdict.passed, false);
    // Request 1 is a tie (11 and 11): lc may take nginx-1 there, not at request 2.
    assert.equal(
      verdict.message,
      'request 2 went to nginx-1 (0 active, 12 inactive, weight 3) but lc picks nginx-2 (0 active, 11 inactive, weight 1): ' +
        'lc sends a new connection to the server with the fewest connections, an active one counting as 256 inactive ones ' +
        '(sequence: nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1)',
    );
    assert.deepEqual(verdict.expected?.slice(0, 3), ['nginx-1', 'nginx-2', 'nginx-3']);
  });

  it('wlc: twelve picks of nginx-1 from 11, 11 and 12 inactive, as captured; wlc fails the lc capture', () => {
    const verdict = judgeCapture('wlc', 'wlc (weights 3,1,1)');
    assert.equal(verdict.passed, true, verdict.message);
    assert.deepEqual(verdict.expected, repeat('nginx-1', 12));

    const lc = judgeCapture('wlc', 'lc (weights 3,1,1)');
    assert.equal(lc.passed, false);
    assert.equal(
      lc.message,
      'request 2 went to nginx-3 (0 active, 4 inactive, weight 1) but wlc picks nginx-1 (0 active, 11 inactive, weight 3): ' +
        'wlc sends a new connection to the server with the fewest connections per unit of weight, an active one counting as 256 inactive ones ' +
        '(sequence: nginx-3 nginx-3 nginx-3 nginx-3 nginx-3 nginx-3 nginx-2 nginx-3 nginx-2 nginx-3 nginx-2 nginx-3)',
    );
  });

  it('wlc fails the sed capture at request 12, when nginx-1’s 34 inactive outweigh 3 times nginx-2’s 11: sed ignores them', () => {
    const verdict = judgeCapture('wlc', 'sed (weights 3,1,1)');
    assert.equal(verdict.passed, false);
    assert.match(
      verdict.message,
      /^request 12 went to nginx-1 \(0 active, 34 inactive, weight 3\) but wlc picks nginx-2 \(0 active, 11 inactive, weight 1\): /,
    );
    assert.equal(judgeCapture('sed', 'sed (weights 3,1,1)').passed, true);
  });

  it('sed fails the nq capture: with no active connections sed picks the heaviest server, nq the first idle one', () => {
    const verdict = judgeCapture('sed', 'nq (weights 3,1,1)');
    assert.equal(verdict.passed, false);
    assert.equal(
      verdict.message,
      'request 1 went to nginx-3 (0 active, 12 inactive, weight 1) but sed picks nginx-1 (0 active, 35 inactive, weight 3): ' +
        'sed sends a new connection to the server with the smallest (active connections + 1) / weight, inactive connections not counting ' +
        '(sequence: nginx-3 nginx-3 nginx-3 nginx-3 nginx-3 nginx-3 nginx-3 nginx-3 nginx-3 nginx-3 nginx-3 nginx-3)',
    );
    assert.deepEqual(verdict.expected, repeat('nginx-1', 12));
  });

  it('nq passes its capture and fails rr’s alternation: idle servers tie, and nq always takes the first of them', () => {
    assert.equal(judgeCapture('nq', 'nq (weights 3,1,1)').passed, true);
    const verdict = judgeCapture('nq', 'rr');
    assert.equal(verdict.passed, false);
    assert.equal(
      verdict.message,
      'request 2 went to nginx-1 (0 active, 0 inactive, weight 1), which ties with nginx-2 (0 active, 1 inactive, weight 1) for nq, ' +
        "but request 1 showed nginx-2 comes first in the kernel's list, and of servers that tie nq always takes the first " +
        '(sequence: nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1)',
    );
    assert.deepEqual(verdict.expected, repeat('nginx-2', 10));
  });

  it('nq uses sed once no server is idle', () => {
    const servers = [server('nginx-2', 1, 1, 0), server('nginx-1', 3, 2, 0)];
    // (2 + 1) / 3 < (1 + 1) / 1: nginx-1, although it has more active connections.
    assert.equal(judge('nq', servers, repeat('nginx-1', 4)).passed, true);
    assert.match(judge('nq', servers, ['nginx-2']).message, /^request 1 went to nginx-2 \(1 active, 0 inactive, weight 1\) but nq picks nginx-1 /);
    assert.equal(judge('nq', [server('nginx-2', 1, 1, 0), server('nginx-1', 3, 0, 9)], repeat('nginx-1', 4)).passed, true);
  });

  it('lc with a held connection: new requests go to the other server, alternation fails', () => {
    // nginx-1 holds a connection open (a slow download, a keep-alive) while the requests are sent.
    const servers = [server('nginx-2', 1, 0, 4), server('nginx-1', 1, 1, 3)];
    const allToTwo = judge('lc', servers, repeat('nginx-2', 12));
    assert.equal(allToTwo.passed, true, allToTwo.message);

    const alternating = judge('lc', servers, ['nginx-2', 'nginx-1', 'nginx-2', 'nginx-1']);
    assert.equal(alternating.passed, false);
    assert.equal(
      alternating.message,
      'request 2 went to nginx-1 (1 active, 3 inactive, weight 1) but lc picks nginx-2 (0 active, 5 inactive, weight 1): ' +
        'lc sends a new connection to the server with the fewest connections, an active one counting as 256 inactive ones ' +
        '(sequence: nginx-2 nginx-1 nginx-2 nginx-1)',
    );
    assert.deepEqual(alternating.expected, repeat('nginx-2', 4));
    // Without the held connection, lc alternates: 4 and 3, then 4 and 4, a tie nginx-2 wins, …
    assert.equal(judge('lc', [server('nginx-2', 1, 0, 4), server('nginx-1', 1, 0, 3)], ['nginx-1', 'nginx-2', 'nginx-1', 'nginx-2']).passed, true);
  });

  it('wlc weighs the held connection against the weights', () => {
    const servers = [server('nginx-2', 1, 0, 7), server('nginx-1', 1, 3, 5)];
    const verdict = judge('wlc', servers, ['nginx-2', 'nginx-2', 'nginx-2', 'nginx-1']);
    assert.equal(verdict.passed, false);
    assert.equal(
      verdict.message,
      'request 4 went to nginx-1 (3 active, 5 inactive, weight 1) but wlc picks nginx-2 (0 active, 10 inactive, weight 1): ' +
        'wlc sends a new connection to the server with the fewest connections per unit of weight, an active one counting as 256 inactive ones ' +
        '(sequence: nginx-2 nginx-2 nginx-2 nginx-1)',
    );
    // Weight 1000 against 1: (3 * 256 + 5) / 1000 < 7 / 1.
    assert.equal(judge('wlc', [server('nginx-2', 1, 0, 7), server('nginx-1', 1000, 3, 5)], repeat('nginx-1', 3)).passed, true);
  });

  it('accepts either server on a tie, so servers in ipvsadm’s address order still pass the captures', () => {
    for (const label of ['lc (weights 3,1,1)', 'nq (weights 3,1,1)', 'wlc (weights 3,1,1)']) {
      const { servers, sequence } = capture(label);
      const byAddress = [...servers].sort((a, b) => a.name.localeCompare(b.name));
      const verdict = judge(label.split(' ')[0] ?? '', byAddress, sequence);
      assert.equal(verdict.passed, true, `${label}: ${verdict.message}`);
      assert.deepEqual(verdict.expected, sequence);
    }
  });

  it('but needs one list order to explain every tie-break', () => {
    const servers = [server('nginx-1', 1, 0, 0), server('nginx-2', 1, 0, 0), server('nginx-3', 1, 0, 0)];
    // nginx-2 over nginx-3 (request 1), nginx-3 over nginx-1 (request 3): nginx-1 cannot come first at request 5.
    const verdict = judge('lc', servers, ['nginx-2', 'nginx-3', 'nginx-1', 'nginx-3', 'nginx-1', 'nginx-2']);
    assert.equal(verdict.passed, false);
    assert.match(
      verdict.message,
      /^request 4 went to nginx-3 \(0 active, 1 inactive, weight 1\), which ties with nginx-2 \(0 active, 1 inactive, weight 1\) for lc, but request 1 showed nginx-2 comes first/,
    );
    // All three tie at request 7: nginx-2 came before nginx-1 at request 1, nginx-3 before nginx-1 at request 2.
    const late = judge('lc', servers, ['nginx-2', 'nginx-3', 'nginx-1', 'nginx-2', 'nginx-3', 'nginx-1', 'nginx-1']);
    assert.match(
      late.message,
      /^request 7 went to nginx-1 \(0 active, 2 inactive, weight 1\), which ties with nginx-2 .* but request 1 showed nginx-2 comes first/,
    );
    assert.equal(judge('lc', servers, ['nginx-2', 'nginx-3', 'nginx-1', 'nginx-2', 'nginx-3', 'nginx-1', 'nginx-2']).passed, true);
  });

  it('fo and ovf: the heaviest server, ovf skipping one with more active connections than its weight', () => {
    assert.equal(judgeCapture('fo', 'fo (weights 3,1,1)').passed, true);
    assert.equal(judgeCapture('ovf', 'ovf (weights 3,1,1)').passed, true);
    const servers = [server('nginx-3', 1, 0, 0), server('nginx-2', 2, 0, 0), server('nginx-1', 3, 4, 0)];
    assert.equal(judge('fo', servers, repeat('nginx-1', 3)).passed, true);
    assert.equal(judge('ovf', servers, repeat('nginx-2', 3)).passed, true);
    const verdict = judge('ovf', servers, ['nginx-1']);
    assert.equal(verdict.passed, false);
    assert.match(verdict.message, /^request 1 went to nginx-1 \(4 active, 0 inactive, weight 3\) but ovf picks nginx-2 \(0 active, 0 inactive, weight 2\)/);
    const full = judge('ovf', [server('nginx-1', 1, 2, 0)], ['nginx-1']);
    assert.equal(full.passed, false);
    assert.match(full.message, /^request 1 went to nginx-1 \(2 active, 0 inactive, weight 1\) but no server qualifies for ovf, /);
    assert.deepEqual(full.expected, ['error:no server available']);
  });
});

describe('sh, mh and dh', () => {
  const requestsFrom = (source: string | undefined, sequence: readonly string[]): JudgedRequest[] =>
    sequence.map((backend) => (source === undefined ? { backend } : { backend, source }));
  const SERVERS = capture('sh (weights 3,1,1)').servers;

  it('sh passes its capture and fails rr’s alternation from one client', () => {
    assert.equal(
      judgeCapture('sh', 'sh (weights 3,1,1)').message,
      'sh: all 12 requests from the client went to nginx-1: sh hashes the client address, so every connection from one client goes to the same server ' +
        '(sequence: nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1)',
    );
    const verdict = judgeSchedule({ scheduler: 'sh', servers: capture('rr').servers, requests: requestsFrom('172.17.0.2', realSequence('rr')), requested: 10 });
    assert.equal(verdict.passed, false);
    assert.equal(
      verdict.message,
      'requests 1 and 2 came from 172.17.0.2 but went to nginx-2 and nginx-1: sh hashes the client address, so every connection from one client goes to the same server ' +
        '(sequence: nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1)',
    );
    assert.equal(verdict.expected, undefined);
    const unknownSource = judgeSchedule({ scheduler: 'sh', servers: capture('rr').servers, requests: requestsFrom('', realSequence('rr')), requested: 10 });
    assert.match(unknownSource.message, /^requests 1 and 2 were sent from the same client but went to nginx-2 and nginx-1: /);
    assert.equal(judgeCapture('mh', 'rr').passed, false);
    assert.equal(judgeCapture('mh', 'mh (weights 3,1,1)').passed, true);
  });

  it('sh lets different clients reach different servers', () => {
    const requests = [
      { backend: 'nginx-1', source: '10.0.0.1' },
      { backend: 'nginx-3', source: '10.0.0.2' },
      { backend: 'nginx-1', source: '10.0.0.1' },
      { backend: 'nginx-3', source: '10.0.0.2' },
    ];
    const verdict = judgeSchedule({ scheduler: 'sh', servers: SERVERS, requests, requested: 4 });
    assert.equal(verdict.passed, true);
    assert.match(verdict.message, /^sh: all 2 requests from 10\.0\.0\.1 went to nginx-1 and all 2 requests from 10\.0\.0\.2 went to nginx-3: /);
    const moved = judgeSchedule({ scheduler: 'sh', servers: SERVERS, requests: [...requests, { backend: 'nginx-2', source: '10.0.0.2' }], requested: 5 });
    assert.match(moved.message, /^requests 2 and 5 came from 10\.0\.0\.2 but went to nginx-3 and nginx-2: /);
  });

  it('sh-port: spreading is fine, every request on one server fails once chance cannot explain it', () => {
    const judgePort = (sequence: readonly string[], flags: readonly string[] = ['sh-port'], servers = SERVERS): ScheduleVerdict =>
      judgeSchedule({ scheduler: 'sh', flags, servers, requests: requestsFrom('172.17.0.2', sequence), requested: sequence.length });
    assert.equal(judgePort(realSequence('rr')).passed, true);
    const verdict = judgePort(realSequence('sh (weights 3,1,1)'));
    assert.equal(verdict.passed, false);
    assert.equal(
      verdict.message,
      'all 12 requests went to nginx-1 although sh-port is set: the port is hashed too, so connections from different source ports should spread ' +
        'over nginx-3, nginx-2 and nginx-1 (all on one server happens 0.2% of the time) ' +
        '(sequence: nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1)',
    );
    // 5 requests could all land on the weight-3 server by chance (8%); 6 could not (5%).
    assert.equal(judgePort(repeat('nginx-1', 5)).passed, true);
    assert.equal(judgePort(repeat('nginx-1', 6)).passed, false);
    // 3:1 needs 11 requests before one server taking them all is unlikely enough.
    const threeToOne = [server('nginx-2', 1, 0, 0), server('nginx-1', 3, 0, 0)];
    assert.equal(judgePort(repeat('nginx-1', 10), ['sh-port'], threeToOne).passed, true);
    assert.equal(judgePort(repeat('nginx-1', 11), ['sh-port'], threeToOne).passed, false);
    // sh-fallback alone changes nothing for available servers: still one server per client.
    assert.equal(judgePort(realSequence('rr'), ['sh-fallback']).passed, false);
    const mh = judgeSchedule({ scheduler: 'mh', flags: ['mh-port'], servers: SERVERS, requests: requestsFrom(undefined, repeat('nginx-2', 8)), requested: 8 });
    assert.match(mh.message, /^all 8 requests went to nginx-2 although mh-port is set: /);
  });

  it('dh passes its capture and fails rr’s alternation to one address, but lets destinations differ', () => {
    assert.equal(judgeCapture('dh', 'dh (weights 3,1,1)').passed, true);
    const verdict = judgeCapture('dh', 'rr');
    assert.equal(verdict.passed, false);
    assert.match(verdict.message, /^requests 1 and 2 were sent to the same address but went to nginx-2 and nginx-1: dh hashes the destination address, /);
    const requests = [
      { backend: 'nginx-1', destination: '172.17.0.2' },
      { backend: 'nginx-2', destination: '172.17.0.3' },
      { backend: 'nginx-1', destination: '172.17.0.2', source: '10.0.0.9' },
    ];
    assert.equal(judgeSchedule({ scheduler: 'dh', servers: SERVERS, requests, requested: 3 }).passed, true);
  });
});

describe('judgeSchedule failures, worded as judgeRoundRobin words them', () => {
  const servers = capture('rr').servers;

  it('reports a sender that stopped at a failure, the same way for every scheduler', () => {
    const sequence = ['nginx-2', 'nginx-1', 'error:curl: (28) Connection timed out after 2001 milliseconds'];
    const expected = judgeRoundRobin(sequence, TWO, 12).message;
    assert.equal(
      expected,
      'request 3 of 12 failed (curl: (28) Connection timed out after 2001 milliseconds) after 2 answered; the other 9 were not sent ' +
        '(sequence before it: nginx-2 nginx-1)',
    );
    for (const scheduler of ['rr', 'wrr', 'lc', 'nq', 'sh']) {
      const verdict = judge(scheduler, servers, sequence, 12);
      assert.equal(verdict.passed, false);
      assert.equal(verdict.message, expected);
      assert.deepEqual(verdict.counts, { 'nginx-2': 1, 'nginx-1': 1 });
      assert.equal(verdict.expected, undefined);
    }
  });

  it('reports a failed request, a reply from no server and an unknown name first', () => {
    assert.equal(judge('lc', servers, ['nginx-2', 'error:reset', 'nginx-2']).message, 'request 2 failed: reset');
    assert.equal(
      judge('wlc', servers, ['nginx-2', 'unknown:502 Bad Gateway']).message,
      'request 2 was answered by none of the backends (nginx-2, nginx-1): the reply was "502 Bad Gateway"',
    );
    const verdict = judge('rr', servers, ['nginx-2', 'nginx-3']);
    assert.equal(verdict.message, 'request 2 was answered by nginx-3, which is not one of the backends (nginx-2, nginx-1)');
    assert.equal(verdict.counts['nginx-3'], 1);
  });

  it('throws for a scheduler it does not judge, naming the ones it does', () => {
    assert.throws(() => judge('lblc', servers, ['nginx-1']), {
      name: 'RangeError',
      message: 'judgeSchedule cannot judge the scheduler "lblc"; it judges rr, wrr, lc, wlc, sed, nq, fo, ovf, sh, dh and mh',
    });
    assert.throws(() => judgeSchedule({ scheduler: 'sh', flags: ['sh-prt'], servers, requests: [], requested: 1 }), {
      name: 'RangeError',
      message: /unknown scheduler flag "sh-prt"/,
    });
  });

  it('throws for input no verdict can come from', () => {
    assert.throws(() => judge('rr', [], ['nginx-1']), { name: 'RangeError', message: /at least 1 server/ });
    assert.throws(() => judge('rr', [servers[0] ?? server('x', 1, 0, 0), servers[0] ?? server('x', 1, 0, 0)], ['nginx-2']), {
      name: 'RangeError',
      message: /"nginx-2" is listed twice/,
    });
    assert.throws(() => judge('lc', [server('nginx-1', 1, -1, 0)], ['nginx-1']), { name: 'RangeError', message: /nginx-1 has activeConns -1/ });
    assert.throws(() => judge('lc', servers, [], 0), { name: 'RangeError', message: /at least 1 request.*got 0/ });
    assert.throws(() => judge('lc', servers, ['nginx-1', 'nginx-2'], 1), { name: 'RangeError', message: /judgeSchedule: 2 responses for 1 requests/ });
    assert.throws(() => judge('lc', servers, ['nginx-1'], 3), { name: 'RangeError', message: /1 of 3 requests were sent, so the last must have failed/ });
  });
});

describe('judgeSchedule: a persistent service', () => {
  const servers = [
    { name: 'nginx-2', weight: 1, activeConns: 0, inactiveConns: 0 },
    { name: 'nginx-1', weight: 1, activeConns: 0, inactiveConns: 0 },
  ];
  const from = (source: string, backends: string[]) => backends.map((backend) => ({ backend, source }));

  it('passes when each client stays on one server, although rr alone would alternate', () => {
    const requests = [...from('10.0.0.2', ['nginx-1', 'nginx-1', 'nginx-1']), ...from('10.0.0.9', ['nginx-2', 'nginx-2'])];
    const verdict = judgeSchedule({ scheduler: 'rr', servers, requests, requested: 5, persistent: true });
    assert.equal(verdict.passed, true, verdict.message);
    assert.match(verdict.message, /^persistence: all 3 requests from 10\.0\.0\.2 went to nginx-1 and all 2 requests from 10\.0\.0\.9 went to nginx-2/);
    assert.equal(judgeSchedule({ scheduler: 'rr', servers, requests, requested: 5 }).passed, false, 'without persistence, rr must alternate');
  });

  it("fails rr's alternation from one client, naming persistence", () => {
    const verdict = judgeSchedule({ scheduler: 'rr', servers, requests: from('10.0.0.2', ['nginx-2', 'nginx-1']), requested: 2, persistent: true });
    assert.equal(verdict.passed, false);
    assert.match(verdict.message, /^requests 1 and 2 came from 10\.0\.0\.2 but went to nginx-2 and nginx-1: the service is persistent \(-p\)/);
  });
});
