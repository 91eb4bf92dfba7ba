import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

import type { CheckResult } from '../../../common/api.js';
import type { CheckContext } from '../../../server/src/checks/check-context.js';
import { parseTrafficOutput, trafficScript } from '../../../server/src/checks/round-robin-traffic-check.js';
import { runChecks } from '../../../server/src/checks/run-checks.js';
import { parseProcNetIpVs } from '../../../server/src/ipvs/parse-proc-net-ip-vs.js';
import type { CheckSpec, IpvsRealServersCheck, IpvsServiceCheck, RoundRobinTrafficCheck } from '../../../server/src/labs/lab.js';
import type { ExecResult } from '../../../server/src/runtime/runtime.js';
import { kernelFixture } from '../../utils/fixtures.js';

const PROC = {
  empty: kernelFixture('empty.proc-net-ip_vs.txt'),
  rrMasq: kernelFixture('rr-masq.proc-net-ip_vs.txt'),
  mixed: kernelFixture('mixed.proc-net-ip_vs.txt'),
};
const NO_PROC: ExecResult = { exitCode: 1, stdout: '', stderr: 'cat: /proc/net/ip_vs: No such file or directory\n' };

/**
 * `ipvsadm -Ln` output rewritten in the /proc/net/ip_vs notation (hex addresses and ports), for
 * states captured only with ipvsadm. IPv4 TCP/UDP only; real servers keep ipvsadm's order.
 */
function procFromIpvsadm(text: string): string {
  const hex = (ip: string, port: string) =>
    `${ip
      .split('.')
      .map((o) => Number(o).toString(16).padStart(2, '0'))
      .join('')
      .toUpperCase()}:${Number(port).toString(16).padStart(4, '0').toUpperCase()}`;
  const out = [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn',
  ];
  for (const line of text.split('\n').slice(3)) {
    const service = /^(TCP|UDP)\s+([\d.]+):(\d+)\s+(\S+)$/.exec(line.trim());
    const real = /^->\s+([\d.]+):(\d+)\s+(\w+)\s+(\d+)\s+(\d+)\s+(\d+)$/.exec(line.trim());
    if (service) out.push(`${service[1]}  ${hex(service[2]!, service[3]!)} ${service[4]}  `);
    else if (real) out.push(`  -> ${hex(real[1]!, real[2]!)}      ${real[3]}    ${real[4]}      ${real[5]}          ${real[6]}         `);
    else if (line.trim() !== '') throw new Error(`procFromIpvsadm cannot convert ${JSON.stringify(line)}`);
  }
  return `${out.join('\n')}\n`;
}
/** rr with 10.20.0.12 at weight 0: captured with ipvsadm only, so converted. */
const rrQuiescedProc = procFromIpvsadm(kernelFixture('rr-quiesced.ipvsadm-Ln.txt'));
/** The mixed table without its Tunnel real server (10.20.0.13), so Route is the first mismatch. */
const mixedWithoutTunnel = PROC.mixed
  .split('\n')
  .filter((line) => !line.includes('0A14000D:0050'))
  .join('\n');

interface Recorded {
  readonly host: string;
  readonly script: string;
}

/** A context whose exec answers every command with `answer`, recording what it was asked. */
function contextFor(answer: ExecResult | ((host: string, script: string) => ExecResult), extra: Partial<Pick<CheckContext, 'variables' | 'hostIps'>> = {}) {
  const calls: Recorded[] = [];
  const ctx: CheckContext = {
    exec(host, script) {
      calls.push({ host, script });
      return Promise.resolve(typeof answer === 'function' ? answer(host, script) : answer);
    },
    statPath(host, file) {
      return Promise.reject(new Error(`these checks read no files, yet statPath(${host}, ${file}) was called`));
    },
    variables: extra.variables ?? {},
    hostIps: extra.hostIps ?? new Map(),
  };
  return { ctx, calls };
}
const procAnswer = (stdout: string): ExecResult => ({ exitCode: 0, stdout, stderr: '' });

const service = (s: string, scheduler?: string): IpvsServiceCheck => ({
  kind: 'ipvs-service',
  host: 'director',
  service: s,
  ...(scheduler ? { scheduler } : {}),
});
const realServers = (s: string, servers: string[], forward: IpvsRealServersCheck['forward'] = 'Masq'): IpvsRealServersCheck => ({
  kind: 'ipvs-real-servers',
  host: 'director',
  service: s,
  servers,
  forward,
});

async function check(checks: CheckSpec[], answer: Parameters<typeof contextFor>[0], extra: Parameters<typeof contextFor>[1] = {}): Promise<CheckResult> {
  return runChecks(checks, contextFor(answer, extra).ctx);
}

const backendIps = new Map([
  ['director', '172.17.0.2'],
  ['nginx-1', '10.20.0.11'],
  ['nginx-2', '10.20.0.12'],
  ['nginx-3', '10.20.0.13'],
]);

describe('the fixtures the checks read', () => {
  it('converted ipvsadm output parses like the kernel listing of the same table', () => {
    const byAddress = (t: ReturnType<typeof parseProcNetIpVs>) =>
      t.services.map((s) => ({ ...s, realServers: [...s.realServers].sort((a, b) => a.address.localeCompare(b.address)) }));
    assert.deepEqual(byAddress(parseProcNetIpVs(procFromIpvsadm(kernelFixture('rr-masq.ipvsadm-Ln.txt')))), byAddress(parseProcNetIpVs(PROC.rrMasq)));
  });

  it('rr-quiesced has 10.20.0.12 at weight 0', () => {
    const [svc] = parseProcNetIpVs(rrQuiescedProc).services;
    assert.deepEqual(
      svc?.realServers.map((r) => [r.address, r.weight]),
      [
        ['10.20.0.11', 3],
        ['10.20.0.12', 0],
      ],
    );
  });
});

describe('runChecks', () => {
  it('passes an empty list of checks without running anything', async () => {
    const { ctx, calls } = contextFor(NO_PROC);
    const result = await runChecks([], ctx);
    assert.equal(result.passed, true);
    assert.equal(result.message, 'Nothing to check on this step: it is marked done.');
    assert.equal(typeof result.elapsedMs, 'number');
    assert.equal(calls.length, 0);
  });

  it('fills variables before running, and reads the table with cat /proc/net/ip_vs in the check host', async () => {
    const { ctx, calls } = contextFor(procAnswer(PROC.rrMasq), { variables: { vip: '172.17.0.2' } });
    const result = await runChecks([service('TCP {{vip}}:80', 'rr')], ctx);
    assert.equal(result.message, 'TCP 172.17.0.2:80 exists with scheduler rr.');
    assert.deepEqual(calls, [{ host: 'director', script: 'cat /proc/net/ip_vs' }]);
  });

  it('stops at the first failing check and reports it', async () => {
    const { ctx, calls } = contextFor(procAnswer(PROC.empty));
    const result = await runChecks([service('TCP 172.17.0.2:80', 'rr'), realServers('TCP 172.17.0.2:80', ['10.20.0.11:80'])], ctx);
    assert.equal(result.passed, false);
    assert.match(result.message, /^There is no virtual service yet/);
    assert.equal(calls.length, 1);
  });

  it('reports the last success when every check passes', async () => {
    const result = await check(
      [service('TCP 172.17.0.2:80', 'rr'), realServers('TCP 172.17.0.2:80', ['10.20.0.11:80', '10.20.0.12:80'])],
      procAnswer(PROC.rrMasq),
    );
    assert.equal(result.passed, true);
    assert.equal(result.message, 'TCP 172.17.0.2:80 has all 2 backends with Masq forwarding.');
    assert.ok((result.elapsedMs ?? -1) >= 0);
  });

  it('runs command checks and returns the author messages', async () => {
    const cmd: CheckSpec = {
      kind: 'command',
      host: 'director',
      run: 'command -v ipvsadm',
      failMessage: 'install ipvsadm',
      passMessage: 'ipvsadm is installed',
    };
    const ok = await check([cmd], { exitCode: 0, stdout: '/usr/sbin/ipvsadm\n', stderr: '' });
    assert.equal(ok.passed, true);
    assert.equal(ok.message, 'ipvsadm is installed');
    assert.deepEqual(ok.details, { host: 'director', command: 'command -v ipvsadm', exitCode: 0, output: '/usr/sbin/ipvsadm' });
    const bad = await check([cmd], { exitCode: 1, stdout: '', stderr: '' });
    assert.equal(bad.passed, false);
    assert.equal(bad.message, 'install ipvsadm');
  });

  it('turns a missing /proc/net/ip_vs into a failed result saying there is no IPVS', async () => {
    for (const c of [service('TCP 172.17.0.2:80', 'rr'), realServers('TCP 172.17.0.2:80', ['10.20.0.11:80'])]) {
      const result = await check([c], NO_PROC);
      assert.equal(result.passed, false);
      assert.equal(
        result.message,
        "cannot read the IPVS table in director: /proc/net/ip_vs is missing (cat: /proc/net/ip_vs: No such file or directory), so this Docker engine's kernel has no IPVS loaded.",
      );
    }
  });

  it('turns output that is not /proc/net/ip_vs into a failed result naming the line', async () => {
    const result = await check([service('TCP 172.17.0.2:80')], procAnswer(kernelFixture('rr-masq.ipvsadm-Ln.txt')));
    assert.equal(result.passed, false);
    assert.match(result.message, /^line 4 "TCP {2}172\.17\.0\.2:80 rr": .*looks like `ipvsadm -Ln` output/);
  });
});

describe('ipvs-service on real kernel output', () => {
  it('passes for TCP 172.17.0.2:80 rr on rr-masq', async () => {
    const result = await check([service('TCP 172.17.0.2:80', 'rr')], procAnswer(PROC.rrMasq));
    assert.equal(result.passed, true);
    assert.equal(result.message, 'TCP 172.17.0.2:80 exists with scheduler rr.');
    assert.deepEqual(result.details, { host: 'director', services: ['TCP 172.17.0.2:80'], scheduler: 'rr' });
  });

  it('passes without a scheduler when any scheduler is fine', async () => {
    const result = await check([service('TCP 172.17.0.2:443')], procAnswer(PROC.mixed));
    assert.equal(result.passed, true);
    assert.equal(result.message, 'TCP 172.17.0.2:443 exists.');
  });

  it('fails naming the scheduler found, the one asked for and the fix', async () => {
    const result = await check([service('TCP 172.17.0.2:80', 'wrr')], procAnswer(PROC.rrMasq));
    assert.equal(result.passed, false);
    assert.equal(result.message, 'TCP 172.17.0.2:80 uses scheduler rr; this step asks for wrr (change it with ipvsadm -E -t 172.17.0.2:80 -s wrr).');
  });

  it('says there is no virtual service yet on an empty table, with the command to create it', async () => {
    const result = await check([service('TCP 172.17.0.2:80', 'rr')], procAnswer(PROC.empty));
    assert.equal(result.passed, false);
    assert.equal(result.message, 'There is no virtual service yet: create TCP 172.17.0.2:80 with ipvsadm -A -t 172.17.0.2:80 -s <scheduler>.');
  });

  it('names the protocol that is there and the flag of the one asked for', async () => {
    const result = await check([service('UDP 172.17.0.2:80')], procAnswer(PROC.rrMasq));
    assert.equal(result.passed, false);
    assert.equal(result.message, 'There is no virtual service UDP 172.17.0.2:80, but there is TCP 172.17.0.2:80: use -u for UDP.');
  });

  it('lists what the table holds when the address or port differs', async () => {
    const result = await check([service('TCP 172.17.0.3:80')], procAnswer(PROC.mixed));
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'There is no virtual service TCP 172.17.0.3:80; the table has TCP 172.17.0.2:443, TCP 172.17.0.2:8080, TCP 172.17.0.2:80, TCP [::1]:80, UDP 172.17.0.2:53, FWM 7.',
    );
  });

  it('finds the IPv6 service whatever the spelling', async () => {
    for (const spelling of ['[::1]', '[0:0:0:0:0:0:0:1]', '[0000:0000:0000:0000:0000:0000:0000:0001]']) {
      const result = await check([service(`TCP ${spelling}:80`, 'rr')], procAnswer(PROC.mixed));
      assert.equal(result.message, 'TCP [::1]:80 exists with scheduler rr.', spelling);
    }
  });

  it('finds the UDP service and checks its scheduler', async () => {
    assert.equal((await check([service('UDP 172.17.0.2:53', 'lc')], procAnswer(PROC.mixed))).passed, true);
    const result = await check([service('UDP 172.17.0.2:53', 'rr')], procAnswer(PROC.mixed));
    assert.equal(result.message, 'UDP 172.17.0.2:53 uses scheduler lc; this step asks for rr (change it with ipvsadm -E -u 172.17.0.2:53 -s rr).');
  });
});

describe('ipvs-real-servers on real kernel output', () => {
  const rrService = 'TCP 172.17.0.2:80';

  it('passes on rr-masq with both Masq backends', async () => {
    const result = await check([realServers(rrService, ['10.20.0.11:80', '10.20.0.12:80'])], procAnswer(PROC.rrMasq));
    assert.equal(result.passed, true);
    assert.equal(result.message, 'TCP 172.17.0.2:80 has all 2 backends with Masq forwarding.');
    assert.deepEqual(result.details, {
      service: 'TCP 172.17.0.2:80',
      realServers: [
        { server: '10.20.0.12:80', forward: 'Masq', weight: 1 },
        { server: '10.20.0.11:80', forward: 'Masq', weight: 1 },
      ],
    });
  });

  it('names the missing backend and the command to add it', async () => {
    const result = await check([realServers(rrService, ['10.20.0.11:80', '10.20.0.12:80', '10.20.0.13:80'])], procAnswer(PROC.rrMasq));
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'Only 2 of the 3 backends are in TCP 172.17.0.2:80: 10.20.0.13:80 is missing (add with ipvsadm -a -t 172.17.0.2:80 -r 10.20.0.13:80 -m).',
    );
  });

  it('names backends by host name when the session knows their addresses', async () => {
    const result = await check([realServers(rrService, ['10.20.0.11:80', '10.20.0.12:80', '10.20.0.13:80'])], procAnswer(PROC.rrMasq), { hostIps: backendIps });
    assert.equal(
      result.message,
      'Only 2 of the 3 backends are in TCP 172.17.0.2:80: 10.20.0.13:80 (nginx-3) is missing (add with ipvsadm -a -t 172.17.0.2:80 -r 10.20.0.13:80 -m).',
    );
  });

  it('says none is there on a service without real servers', async () => {
    const result = await check([realServers('TCP 172.17.0.2:8080', ['10.20.0.11:8080', '10.20.0.12:8080'], 'Route')], procAnswer(PROC.mixed), {
      hostIps: backendIps,
    });
    assert.equal(
      result.message,
      'None of the 2 backends is in TCP 172.17.0.2:8080 yet: 10.20.0.11:8080 (nginx-1) and 10.20.0.12:8080 (nginx-2) are missing (add with ipvsadm -a -t 172.17.0.2:8080 -r 10.20.0.11:8080 -g).',
    );
  });

  it('names a real server the step does not want, and how to remove it', async () => {
    const result = await check([realServers(rrService, ['10.20.0.11:80'])], procAnswer(PROC.rrMasq), { hostIps: backendIps });
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      "Real server 10.20.0.12:80 (nginx-2) is not one of this step's backends (remove it with ipvsadm -d -t 172.17.0.2:80 -r 10.20.0.12:80).",
    );
  });

  it('names a real server added with the wrong port', async () => {
    const result = await check([realServers(rrService, ['10.20.0.11:8080', '10.20.0.12:80'])], procAnswer(PROC.rrMasq));
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'Real server 10.20.0.11:80 has port 80; this step asks for port 8080 (delete it with ipvsadm -d -t 172.17.0.2:80 -r 10.20.0.11:80).',
    );
  });

  it('names Route (-g) and Masq (-m) when a backend uses direct routing', async () => {
    const result = await check([realServers(rrService, ['10.20.0.11:80', '10.20.0.12:80'])], procAnswer(mixedWithoutTunnel), { hostIps: backendIps });
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'Real server 10.20.0.12:80 (nginx-2) uses Route (-g); this step asks for Masq (-m): fix it with ipvsadm -e -t 172.17.0.2:80 -r 10.20.0.12:80 -m.',
    );
  });

  it('on the full mixed table, reports the first mismatch in kernel order: the Tunnel backend', async () => {
    const result = await check([realServers(rrService, ['10.20.0.11:80', '10.20.0.12:80', '10.20.0.13:80'])], procAnswer(PROC.mixed));
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'Real server 10.20.0.13:80 uses Tunnel (-i); this step asks for Masq (-m): fix it with ipvsadm -e -t 172.17.0.2:80 -r 10.20.0.13:80 -m.',
    );
  });

  it('fails on a quiesced backend (weight 0), with the command to give it weight', async () => {
    const result = await check([realServers(rrService, ['10.20.0.11:80', '10.20.0.12:80'])], procAnswer(rrQuiescedProc), { hostIps: backendIps });
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'Real server 10.20.0.12:80 (nginx-2) has weight 0, so it gets no new connections: set it with ipvsadm -e -t 172.17.0.2:80 -r 10.20.0.12:80 -m -w 1.',
    );
  });

  it('checks the IPv6 service of the mixed table', async () => {
    const result = await check([realServers('TCP [0:0:0:0:0:0:0:1]:80', ['[::2]:80'])], procAnswer(PROC.mixed));
    assert.equal(result.passed, true);
    assert.equal(result.message, 'TCP [::1]:80 has its backend with Masq forwarding.');
  });

  it('explains a missing service the way ipvs-service does', async () => {
    const result = await check([realServers('UDP 172.17.0.2:80', ['10.20.0.11:80'])], procAnswer(PROC.rrMasq));
    assert.equal(result.passed, false);
    assert.equal(result.message, 'There is no virtual service UDP 172.17.0.2:80, but there is TCP 172.17.0.2:80: use -u for UDP.');
  });
});

// ---- round-robin-traffic ---------------------------------------------------------------------

const BACKENDS = { 'nginx-1': 'nginx 1', 'nginx-2': 'nginx 2' } as const;

/** The bodies of one line of scheduler-sequences.txt, e.g. `rr:` → ['nginx 2', 'nginx 1', ...]. */
function capturedSequence(label: string): string[] {
  const line = kernelFixture('scheduler-sequences.txt')
    .split('\n')
    .find((l) => l.startsWith(`${label}: `));
  assert.ok(line, `no "${label}:" line in scheduler-sequences.txt`);
  return line.slice(label.length + 2).match(/nginx \d+/g) ?? [];
}

/** What trafficScript prints when each body was answered with curl exit code 0. */
const scriptOutput = (bodies: readonly string[]): string => bodies.map((b) => `0\t${b}\n`).join('');

function traffic(requests: number): RoundRobinTrafficCheck {
  return { kind: 'round-robin-traffic', from: 'director', url: 'http://{{vip}}/', requests, backends: BACKENDS };
}

describe('trafficScript', () => {
  it('sends the asked number of requests to the quoted URL and stops at the first failure', () => {
    const script = trafficScript('http://172.17.0.2/', 12);
    assert.match(script, /^for i in \$\(seq 1 12\); do\n/);
    assert.ok(script.includes("curl -sS --connect-timeout 2 --max-time 2 'http://172.17.0.2/' 2>&1"), script);
    assert.ok(script.includes('[ "$rc" = 0 ] || break'), script);
    assert.ok(script.endsWith('\ndone'), script);
  });

  it('quotes single quotes in the URL for the shell', () => {
    assert.ok(trafficScript("http://x/it's", 4).includes(`'http://x/it'\\''s'`));
  });
});

describe('trafficScript run by a real sh with a stand-in curl', () => {
  const bin = mkdtempSync(path.join(tmpdir(), 'ipvs-lab-curl-'));
  after(() => rmSync(bin, { recursive: true, force: true }));
  // Answers like rr over two nginx backends, starting with the one added last; fails from
  // request FAIL_AT on as curl does when nothing listens.
  writeFileSync(
    path.join(bin, 'curl'),
    [
      '#!/bin/sh',
      'n=$(cat "$STATE" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$STATE"',
      'if [ -n "$FAIL_AT" ] && [ "$n" -ge "$FAIL_AT" ]; then echo "curl: (7) Failed to connect to 172.17.0.2 port 80 after 0 ms: Couldn\'t connect to server" >&2; exit 7; fi',
      'if [ $((n % 2)) = 1 ]; then printf "nginx 2\\n"; else printf "nginx 1\\n"; fi',
      '',
    ].join('\n'),
  );
  chmodSync(path.join(bin, 'curl'), 0o755);
  let run = 0;
  const runScript = (script: string, env: Record<string, string> = {}): ExecResult => {
    const state = path.join(bin, `state-${run++}`);
    const stdout = execFileSync('/bin/sh', ['-c', script], { env: { PATH: `${bin}:/usr/bin:/bin`, STATE: state, ...env }, encoding: 'utf8' });
    return { exitCode: 0, stdout, stderr: '' };
  };

  it('prints one "rc<TAB>body" line per request that parses back to the backends', async () => {
    const result = runScript(trafficScript('http://172.17.0.2/', 6));
    assert.equal(result.stdout, '0\tnginx 2\n0\tnginx 1\n0\tnginx 2\n0\tnginx 1\n0\tnginx 2\n0\tnginx 1\n');
    assert.deepEqual(parseTrafficOutput(result.stdout, BACKENDS), ['nginx-2', 'nginx-1', 'nginx-2', 'nginx-1', 'nginx-2', 'nginx-1']);
    const verdict = await check([traffic(6)], result, { variables: { vip: '172.17.0.2' } });
    assert.equal(verdict.passed, true, verdict.message);
  });

  it("stops after the first failed request, keeping curl's error", async () => {
    const result = runScript(trafficScript('http://172.17.0.2/', 12), { FAIL_AT: '3' });
    assert.equal(result.stdout, "0\tnginx 2\n0\tnginx 1\n7\tcurl: (7) Failed to connect to 172.17.0.2 port 80 after 0 ms: Couldn't connect to server\n");
    const verdict = await check([traffic(12)], result, { variables: { vip: '172.17.0.2' } });
    assert.equal(verdict.passed, false);
    assert.equal(
      verdict.message,
      "request 3 of 12 failed (curl: (7) Failed to connect to 172.17.0.2 port 80 after 0 ms: Couldn't connect to server) after 2 answered; " +
        'the other 9 were not sent (sequence before it: nginx-2 nginx-1)',
    );
    assert.deepEqual(verdict.details?.sent, 3);
    assert.deepEqual(verdict.details?.answered, 2);
  });

  it('reports a host without curl as such', async () => {
    const noCurl = mkdtempSync(path.join(tmpdir(), 'ipvs-lab-nocurl-'));
    try {
      for (const tool of ['seq', 'tr', 'cut'])
        symlinkSync(execFileSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), path.join(noCurl, tool));
      const stdout = execFileSync('/bin/sh', ['-c', trafficScript('http://172.17.0.2/', 4)], { env: { PATH: noCurl }, encoding: 'utf8' });
      assert.match(stdout, /^127\t.*curl: not found\n$/);
      const verdict = await check([traffic(4)], { exitCode: 0, stdout, stderr: '' }, { variables: { vip: '172.17.0.2' } });
      assert.equal(verdict.passed, false);
      assert.equal(verdict.message, 'curl is not installed in director, so the traffic cannot be measured.');
    } finally {
      rmSync(noCurl, { recursive: true, force: true });
    }
  });
});

describe('parseTrafficOutput', () => {
  it('maps bodies to backend names, errors and unknown bodies', () => {
    const output = ['0\tnginx 2', '0\tnginx 1', '0\t<html>Welcome to nginx!</html>', '7\tcurl: (7) Failed to connect to 172.17.0.2 port 80', ''].join('\n');
    assert.deepEqual(parseTrafficOutput(output, BACKENDS), [
      'nginx-2',
      'nginx-1',
      'unknown:<html>Welcome to nginx!</html>',
      'error:curl: (7) Failed to connect to 172.17.0.2 port 80',
    ]);
  });

  it('gives the exit code when curl printed nothing', () => {
    assert.deepEqual(parseTrafficOutput('28\t\n', BACKENDS), ['error:curl exit code 28']);
  });

  it('ignores lines without a tab and trims carriage returns and padding', () => {
    assert.deepEqual(parseTrafficOutput('Welcome\r\n0\tnginx 1 \r\n0\t nginx 2\r\n', BACKENDS), ['nginx-1', 'nginx-2']);
  });

  it('matches backend bodies that end in a newline', () => {
    assert.deepEqual(parseTrafficOutput('0\tweb 1\n', { a: 'web 1\n', b: 'web 2\n' }), ['a']);
  });

  it('returns nothing for empty output', () => {
    assert.deepEqual(parseTrafficOutput('', BACKENDS), []);
  });
});

describe("round-robin-traffic on the kernel's real sequences", () => {
  const vip = { variables: { vip: '172.17.0.2' } };

  it('passes on the rr sequence, and sends the script to the from host', async () => {
    const bodies = capturedSequence('rr');
    assert.equal(bodies.length, 10);
    const { ctx, calls } = contextFor(procAnswer(scriptOutput(bodies)), vip);
    const result = await runChecks([traffic(bodies.length)], ctx);
    assert.equal(result.passed, true, result.message);
    assert.equal(
      result.message,
      'round robin: 10 requests went to nginx-1 and nginx-2 in turn, 5 each (sequence: nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1)',
    );
    assert.deepEqual(result.details?.counts, { 'nginx-1': 5, 'nginx-2': 5 });
    assert.deepEqual(calls, [{ host: 'director', script: trafficScript('http://172.17.0.2/', 10) }]);
  });

  it('fails on the wrr 3:1 sequence, showing it', async () => {
    const bodies = capturedSequence('wrr (weights 3,1)');
    assert.equal(bodies.length, 12);
    const result = await check([traffic(12)], procAnswer(scriptOutput(bodies)), vip);
    assert.equal(result.passed, false);
    assert.ok(result.message.startsWith('nginx-1 answered 9 of 12 requests and nginx-2 only 3'), result.message);
    assert.ok(
      result.message.includes('(sequence: nginx-1 nginx-1 nginx-2 nginx-1 nginx-1 nginx-1 nginx-2 nginx-1 nginx-1 nginx-1 nginx-2 nginx-1)'),
      result.message,
    );
  });

  it('fails on the quiesced sequence: one backend gets everything', async () => {
    const bodies = capturedSequence('rr (weights 3,0 quiesced)');
    const result = await check([traffic(bodies.length)], procAnswer(scriptOutput(bodies)), vip);
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'nginx-1 answered 6 of 6 requests and nginx-2 none: only 1 of the 2 backends is receiving traffic (sequence: nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1)',
    );
  });

  it('says which request failed, how, how many were answered and that the rest were not sent', async () => {
    const output = `${scriptOutput(capturedSequence('rr').slice(0, 2))}28\tcurl: (28) Connection timed out after 2001 milliseconds\n`;
    const result = await check([traffic(12)], procAnswer(output), vip);
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'request 3 of 12 failed (curl: (28) Connection timed out after 2001 milliseconds) after 2 answered; the other 9 were not sent ' +
        '(sequence before it: nginx-2 nginx-1)',
    );
    assert.deepEqual(result.details, {
      url: 'http://172.17.0.2/',
      requests: 12,
      sent: 3,
      answered: 2,
      sequence: ['nginx-2', 'nginx-1', 'error:curl: (28) Connection timed out after 2001 milliseconds'],
      counts: { 'nginx-1': 1, 'nginx-2': 1 },
    });
  });

  it('says so when the very first request failed', async () => {
    const result = await check([traffic(12)], procAnswer('7\tcurl: (7) Failed to connect to 172.17.0.2 port 80 after 0 ms\n'), vip);
    assert.equal(result.passed, false);
    assert.equal(result.message, 'request 1 of 12 failed (curl: (7) Failed to connect to 172.17.0.2 port 80 after 0 ms); the other 11 were not sent');
    assert.equal(result.details?.sent, 1);
    assert.equal(result.details?.answered, 0);
  });

  it('keeps the message for a body no backend sends when the script stopped after it', async () => {
    const output = `${scriptOutput(['nginx 2', 'nginx 3'])}7\tcurl: (7) Failed to connect to 172.17.0.2 port 80\n`;
    const result = await check([traffic(4)], procAnswer(output), vip);
    assert.equal(
      result.message,
      'request 3 of 4 failed (curl: (7) Failed to connect to 172.17.0.2 port 80) after 2 answered; the last one was not sent. ' +
        'Before that, request 2 was answered by none of the backends (nginx-1, nginx-2): the reply was "nginx 3"',
    );
  });

  it('reports the last request failing as before: nothing was left unsent', async () => {
    const output = `${scriptOutput(['nginx 2', 'nginx 1', 'nginx 2'])}7\tcurl: (7) Failed to connect to 172.17.0.2 port 80\n`;
    const result = await check([traffic(4)], procAnswer(output), vip);
    assert.equal(result.message, 'request 4 failed: curl: (7) Failed to connect to 172.17.0.2 port 80');
    assert.equal(result.details?.sent, 4);
    assert.equal(result.details?.answered, 3);
  });

  it('does not call requests failed when the script itself stopped without a failure, and says how it ended', async () => {
    const result = await check([traffic(12)], { exitCode: 137, stdout: scriptOutput(capturedSequence('rr').slice(0, 3)), stderr: 'Killed\n' }, vip);
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'the traffic script in director stopped after 3 of 12 requests without reporting a failure (exit code 137: Killed), so 9 requests have no result',
    );
    assert.equal(result.details?.sent, 3);
    assert.equal(result.details?.answered, 3);
    assert.equal(result.details?.exitCode, 137);
  });

  it('names a body that no backend sends', async () => {
    const output = scriptOutput(['nginx 2', 'nginx 1', 'nginx 3', 'nginx 1']);
    const result = await check([traffic(4)], procAnswer(output), vip);
    assert.equal(result.passed, false);
    assert.equal(result.message, 'request 3 was answered by none of the backends (nginx-1, nginx-2): the reply was "nginx 3"');
  });

  it('says curl is missing when the exec exits 127', async () => {
    const result = await check([traffic(4)], { exitCode: 127, stdout: '', stderr: 'sh: 2: curl: not found\n' }, vip);
    assert.equal(result.passed, false);
    assert.equal(result.message, 'curl is not installed in director, so the traffic cannot be measured.');
  });
});
