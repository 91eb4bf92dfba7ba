import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import type { CheckResult } from '../../../common/api.js';
import type { CheckContext } from '../../../server/src/checks/check-context.js';
import { runIpvsRepliesCheck, STATS_SETTLE_SECONDS } from '../../../server/src/checks/ipvs-replies-check.js';
import { runChecks } from '../../../server/src/checks/run-checks.js';
import type { IpvsRepliesCheck } from '../../../server/src/labs/lab.js';
import type { ExecResult } from '../../../server/src/runtime/runtime.js';
import { fixture, kernelFixture } from '../../utils/fixtures.js';
import { standInBin } from '../../utils/stand-in-bin.js';

// ---- what the director's ipvsadm prints ----------------------------------------------------------

/** The real `ipvsadm -L -n --stats --exact` captures. */
const STATS = {
  rrMasq: kernelFixture('rr-masq.ipvsadm-Ln-exact-stats.txt'),
  mixed: kernelFixture('mixed.ipvsadm-Ln-stats.txt'),
  twoServices: fixture('two-services-rr-masq.ipvsadm-Ln-stats.txt'),
};

const isEntry = (line: string) => /^(TCP|UDP|SCTP|FWM) /.test(line);
const isRealServer = (line: string) => line.trimStart().startsWith('->') && !line.includes('RemoteAddress');

/**
 * What `ipvsadm -L -n --stats --exact -t|-u <service>` prints, cut from a full capture: the two
 * header lines (ipvsadm prints no version line for one service), the service and its real servers.
 */
function oneService(capture: string, service: string): string {
  const lines = capture.split('\n');
  const start = lines.findIndex((l) => isEntry(l) && l.replace(/\s+/, ' ').startsWith(`${service} `));
  assert.ok(start >= 0, `no ${service} in the capture`);
  let end = start + 1;
  while (end < lines.length && isRealServer(lines[end]!)) end++;
  return `${[lines[1]!, lines[2]!, ...lines.slice(start, end)].join('\n')}\n`;
}

/**
 * A capture with the five counters of every service and real server line changed by `change`
 * (Conns, InPkts, OutPkts, InBytes, OutBytes), each kept in its column: for states no capture
 * shows, derived from one that does.
 */
function withCounters(capture: string, change: (counters: number[]) => number[]): string {
  return capture
    .split('\n')
    .map((line) => {
      if (!isEntry(line) && !isRealServer(line)) return line;
      const m = /^(.*?\S)((?:\s+\d+){5})$/.exec(line);
      assert.ok(m, `no counters in ${JSON.stringify(line)}`);
      const fields = [...m[2]!.matchAll(/\s+\d+/g)].map((f) => f[0]);
      const values = change(fields.map((f) => Number(f.trim())));
      return m[1]! + fields.map((f, i) => String(values[i]).padStart(f.length)).join('');
    })
    .join('\n');
}

/** rr-masq before any traffic: the same service and backends, every counter 0. */
const rrMasqIdle = withCounters(STATS.rrMasq, (counters) => counters.map(() => 0));
/**
 * rr-masq as direct routing (or a NAT whose replies bypass the director) would count it: the
 * same requests in, no reply back out.
 */
const rrMasqNoReplies = withCounters(STATS.rrMasq, ([conns = 0, inPackets = 0, , inBytes = 0]) => [conns, inPackets, 0, inBytes, 0]);

const ok = (stdout: string): ExecResult => ({ exitCode: 0, stdout, stderr: '' });
/** The check's script when ipvsadm fails: what ipvsadm said goes to stderr, and it exits 1. */
const NO_SUCH_SERVICE: ExecResult = { exitCode: 1, stdout: '', stderr: 'No such service\n' };

// ---- the check, with a fake director -------------------------------------------------------------

interface Recorded {
  readonly host: string;
  readonly script: string;
}

/** A context whose exec answers every command with `answer`, recording what it was asked. */
function contextFor(answer: ExecResult | ((host: string, script: string) => ExecResult), variables: Record<string, string> = {}) {
  const calls: Recorded[] = [];
  const ctx: CheckContext = {
    exec(host, script) {
      calls.push({ host, script });
      return Promise.resolve(typeof answer === 'function' ? answer(host, script) : answer);
    },
    statPath(host, file) {
      return Promise.reject(new Error(`ipvs-replies reads no files, yet statPath(${host}, ${file}) was called`));
    },
    readFile(host, file) {
      return Promise.reject(new Error(`ipvs-replies reads no files, yet readFile(${host}, ${file}) was called`));
    },
    variables,
    hostIps: new Map(),
  };
  return { ctx, calls };
}

const replies = (service: string, want: IpvsRepliesCheck['replies'], from?: string): IpvsRepliesCheck => ({
  kind: 'ipvs-replies',
  host: 'director',
  service,
  replies: want,
  ...(from === undefined ? {} : { from }),
});

async function run(check: IpvsRepliesCheck, answer: ExecResult): Promise<{ result: CheckResult; calls: Recorded[] }> {
  const { ctx, calls } = contextFor(answer);
  return { result: await runIpvsRepliesCheck(check, ctx), calls };
}

const VIP80 = 'TCP 172.17.0.2:80';

describe('ipvs-replies: what it asks the director', () => {
  it('reads the service with ipvsadm -L -n --stats --exact -t, once, in the check host', async () => {
    const { calls } = await run(replies(VIP80, 'director'), ok(oneService(STATS.rrMasq, VIP80)));
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.host, 'director');
    assert.ok(calls[0]!.script.includes('ipvsadm -L -n --stats --exact -t 172.17.0.2:80 2>&1'), calls[0]!.script);
  });

  it('uses -u for a UDP service and brackets for an IPv6 one', async () => {
    const udp = await run(replies('UDP 172.17.0.2:53', 'director'), ok(oneService(STATS.mixed, 'UDP 172.17.0.2:53')));
    assert.ok(udp.calls[0]!.script.includes('ipvsadm -L -n --stats --exact -u 172.17.0.2:53'), udp.calls[0]!.script);
    const v6 = await run(replies('TCP [0:0::1]:80', 'director'), ok(oneService(STATS.mixed, 'TCP [::1]:80')));
    assert.ok(v6.calls[0]!.script.includes('ipvsadm -L -n --stats --exact -t [::1]:80'), v6.calls[0]!.script);
  });
});

describe('ipvs-replies: its messages', () => {
  it('says there is no such service, with the command to create it, when ipvsadm says "No such service"', async () => {
    const { result } = await run(replies(VIP80, 'director'), NO_SUCH_SERVICE);
    assert.deepEqual(result, {
      passed: false,
      message: 'There is no virtual service TCP 172.17.0.2:80 yet: create it with ipvsadm -A -t 172.17.0.2:80 -s rr.',
    });
  });

  it('names the flag of the protocol in that command', async () => {
    const { result } = await run(replies('UDP 172.17.0.2:53', 'direct'), NO_SUCH_SERVICE);
    assert.equal(result.message, 'There is no virtual service UDP 172.17.0.2:53 yet: create it with ipvsadm -A -u 172.17.0.2:53 -s rr.');
  });

  it('fails on any other failure to read, with the first line of what was printed', async () => {
    const { result } = await run(replies(VIP80, 'director'), { exitCode: 1, stdout: '', stderr: 'sh: 1: ipvsadm: not found\n' });
    assert.deepEqual(result, { passed: false, message: 'cannot read the counters of TCP 172.17.0.2:80 in director: sh: 1: ipvsadm: not found' });
  });

  it('asks for traffic from the client the check names when no packet reached the real servers', async () => {
    const { result } = await run(replies(VIP80, 'director', 'client'), ok(oneService(rrMasqIdle, VIP80)));
    assert.equal(result.passed, false);
    assert.equal(result.message, 'No packets have reached the real servers of TCP 172.17.0.2:80 yet (InPkts 0): send some requests to it from client first.');
    assert.deepEqual(result.details, {
      service: VIP80,
      inPackets: 0,
      outPackets: 0,
      conns: 0,
      realServers: [
        { server: '10.20.0.11:80', conns: 0, inPackets: 0, outPackets: 0, inBytes: 0, outBytes: 0 },
        { server: '10.20.0.12:80', conns: 0, inPackets: 0, outPackets: 0, inBytes: 0, outBytes: 0 },
      ],
    });
  });

  it('asks for traffic "from the client" when the check names none, whichever way the replies should go', async () => {
    for (const want of ['director', 'direct'] as const) {
      const { result } = await run(replies('TCP 10.0.2.15:80', want), ok(oneService(STATS.twoServices, 'TCP 10.0.2.15:80')));
      assert.equal(
        result.message,
        'No packets have reached the real servers of TCP 10.0.2.15:80 yet (InPkts 0): send some requests to it from the client first.',
        want,
      );
    }
  });

  it('asks for traffic on a service without real servers', async () => {
    const { result } = await run(replies('TCP 172.17.0.2:8080', 'direct', 'client'), ok(oneService(STATS.mixed, 'TCP 172.17.0.2:8080')));
    assert.equal(result.passed, false);
    assert.match(result.message, /^No packets have reached the real servers of TCP 172\.17\.0\.2:8080 yet \(InPkts 0\)/);
  });

  it('direct: passes when packets came in and none went back out (OutPkts 0)', async () => {
    const { result } = await run(replies(VIP80, 'direct', 'client'), ok(oneService(rrMasqNoReplies, VIP80)));
    assert.equal(result.passed, true);
    assert.equal(result.message, 'InPkts 25, OutPkts 0: the real servers answer the client directly; no reply passes back through the director.');
    assert.deepEqual(result.details, {
      service: VIP80,
      inPackets: 25,
      outPackets: 0,
      conns: 5,
      realServers: [
        { server: '10.20.0.11:80', conns: 2, inPackets: 10, outPackets: 0, inBytes: 684, outBytes: 0 },
        { server: '10.20.0.12:80', conns: 3, inPackets: 15, outPackets: 0, inBytes: 1026, outBytes: 0 },
      ],
    });
  });

  it('direct: fails when replies come back through the director (OutPkts > 0), naming NAT', async () => {
    const { result } = await run(replies(VIP80, 'direct', 'client'), ok(oneService(STATS.rrMasq, VIP80)));
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'InPkts 25, OutPkts 25: replies come back through the director, as under NAT (-m). With direct routing (-g) or tunnelling (-i) the real servers answer the client themselves and OutPkts stays 0.',
    );
    assert.match(result.message, /NAT \(-m\)/);
  });

  it('director: passes when replies come back through the director (OutPkts > 0)', async () => {
    const { result } = await run(replies(VIP80, 'director', 'client'), ok(oneService(STATS.rrMasq, VIP80)));
    assert.equal(result.passed, true);
    assert.equal(result.message, 'InPkts 25, OutPkts 25: every reply comes back through the director, which rewrites it back to the virtual IP.');
  });

  it('director: counts the real servers of two-services, 60 packets in and 40 out', async () => {
    const { result } = await run(replies('TCP 10.96.0.10:80', 'director'), ok(oneService(STATS.twoServices, 'TCP 10.96.0.10:80')));
    assert.equal(result.passed, true);
    assert.match(result.message, /^InPkts 60, OutPkts 40: /);
  });

  it("director: adds up the real servers' counters, not the service line, which lags behind them in mixed", async () => {
    const { result } = await run(replies(VIP80, 'director'), ok(oneService(STATS.mixed, VIP80)));
    assert.equal(result.passed, true);
    assert.match(result.message, /^InPkts 30, OutPkts 30: /);
  });

  it('director: fails when no reply came back through the director (OutPkts 0), asking for the route back', async () => {
    const { result } = await run(replies(VIP80, 'director', 'client'), ok(oneService(rrMasqNoReplies, VIP80)));
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'InPkts 25, OutPkts 0: no reply came back through the director. Under NAT (-m) the replies must return through it: give the real servers a route back via the director.',
    );
    assert.match(result.message, /route back/);
  });

  it('through runChecks: fills {{vip}} first', async () => {
    const { ctx, calls } = contextFor(ok(oneService(STATS.rrMasq, VIP80)), { vip: '172.17.0.2' });
    const result = await runChecks([replies('TCP {{vip}}:80', 'director')], ctx);
    assert.equal(result.passed, true);
    assert.ok(calls[0]!.script.includes('-t 172.17.0.2:80'), calls[0]!.script);
  });

  it('through runChecks: output with abbreviated counters becomes a failed result naming the line and --exact', async () => {
    const abbreviated = oneService(STATS.rrMasq, VIP80).replace('     1710', '  123456K');
    const { ctx } = contextFor(ok(abbreviated));
    const result = await runChecks([replies(VIP80, 'director')], ctx);
    assert.equal(result.passed, false);
    assert.match(result.message, /^line 3 "TCP .*123456K.*": .*--exact/);
  });
});

// ---- the script, run by a real sh ----------------------------------------------------------------

describe('ipvs-replies: its script run by a real sh with a stand-in ipvsadm and sleep', () => {
  const bin = standInBin('ipvs-lab-replies-', {
    // ipvsadm logs its arguments and prints the file $READ1 the first time it runs, $READ2 after
    // (or, for a file named "missing", says "No such service" on stderr and exits 1 as ipvsadm does).
    ipvsadm: String.raw`#!/bin/sh
echo "$*" >> "$STATE.ipvsadm"
n=$(wc -l < "$STATE.ipvsadm")
if [ "$n" -le 1 ]; then file=$READ1; else file=$READ2; fi
case $file in
  */missing) echo 'No such service' >&2; exit 1 ;;
esac
cat "$file"
`,
    // sleep logs how long it was asked to sleep, and returns at once.
    sleep: '#!/bin/sh\necho "$*" >> "$STATE.sleep"\n',
  });

  /** Runs the check with its script executed by /bin/sh, ipvsadm printing `first`, then `second` ('missing': no such service). */
  async function runForReal(check: IpvsRepliesCheck, first: string, second = first) {
    const run = bin.newRun();
    const files = [first, second].map((text, i) => {
      if (text === 'missing') return path.join(bin.dir, 'missing');
      const file = `${run.state}-read${i + 1}.txt`;
      writeFileSync(file, text);
      return file;
    });
    const { ctx } = contextFor((_host, script) => run.exec(script, { READ1: files[0]!, READ2: files[1]! }));
    const result = await runIpvsRepliesCheck(check, ctx);
    return { result, ipvsadm: run.log('.ipvsadm'), sleeps: run.log('.sleep') };
  }
  const READ = '-L -n --stats --exact -t 172.17.0.2:80';

  it('reads once and does not sleep when the first read already shows packets', async () => {
    const { result, ipvsadm, sleeps } = await runForReal(replies(VIP80, 'director'), oneService(STATS.rrMasq, VIP80), oneService(rrMasqIdle, VIP80));
    assert.deepEqual(sleeps, []);
    assert.deepEqual(ipvsadm, [READ]);
    assert.equal(result.passed, true);
    assert.match(result.message, /^InPkts 25, OutPkts 25: /);
  });

  it('does not sleep when only a real server line shows packets (mixed, whose service line still shows 0)', async () => {
    const { result, ipvsadm, sleeps } = await runForReal(replies(VIP80, 'director'), oneService(STATS.mixed, VIP80), oneService(rrMasqIdle, VIP80));
    assert.deepEqual(sleeps, []);
    assert.deepEqual(ipvsadm, [READ]);
    assert.match(result.message, /^InPkts 30, OutPkts 30: /);
  });

  it(`sleeps ${STATS_SETTLE_SECONDS} s and reads again when the first read shows InPkts 0 on every real server`, async () => {
    const { result, ipvsadm, sleeps } = await runForReal(replies(VIP80, 'director'), oneService(rrMasqIdle, VIP80), oneService(STATS.rrMasq, VIP80));
    assert.deepEqual(sleeps, [String(STATS_SETTLE_SECONDS)]);
    assert.deepEqual(ipvsadm, [READ, READ]);
    assert.equal(result.passed, true, result.message);
    assert.match(result.message, /^InPkts 25, OutPkts 25: /);
  });

  it('sleeps once only, and asks for traffic, when the second read shows none either', async () => {
    const { result, ipvsadm, sleeps } = await runForReal(replies(VIP80, 'direct', 'client'), oneService(rrMasqIdle, VIP80));
    assert.deepEqual(sleeps, [String(STATS_SETTLE_SECONDS)]);
    assert.equal(ipvsadm.length, 2);
    assert.equal(result.message, 'No packets have reached the real servers of TCP 172.17.0.2:80 yet (InPkts 0): send some requests to it from client first.');
  });

  it('takes the second read for its verdict: direct passes when the packets counted after the sleep had no replies', async () => {
    const { result, sleeps } = await runForReal(replies(VIP80, 'direct'), oneService(rrMasqIdle, VIP80), oneService(rrMasqNoReplies, VIP80));
    assert.equal(sleeps.length, 1);
    assert.equal(result.passed, true, result.message);
    assert.match(result.message, /^InPkts 25, OutPkts 0: /);
  });

  it('neither sleeps nor reads again when the service does not exist, and says so', async () => {
    const { result, ipvsadm, sleeps } = await runForReal(replies(VIP80, 'director'), 'missing');
    assert.deepEqual(sleeps, []);
    assert.deepEqual(ipvsadm, [READ]);
    assert.equal(result.message, 'There is no virtual service TCP 172.17.0.2:80 yet: create it with ipvsadm -A -t 172.17.0.2:80 -s rr.');
  });

  it('reports the service gone when it was deleted between the two reads', async () => {
    const { result, ipvsadm, sleeps } = await runForReal(replies(VIP80, 'director'), oneService(rrMasqIdle, VIP80), 'missing');
    assert.equal(sleeps.length, 1);
    assert.equal(ipvsadm.length, 2);
    assert.equal(result.passed, false);
    assert.equal(result.message, 'There is no virtual service TCP 172.17.0.2:80 yet: create it with ipvsadm -A -t 172.17.0.2:80 -s rr.');
  });
});
