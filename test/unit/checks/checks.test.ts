import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

import type { CheckResult } from '../../../common/api.js';
import type { CheckContext } from '../../../server/src/checks/check-context.js';
import {
  crossCheck,
  newMarker,
  parseTrafficOutput,
  TRAFFIC_DEADLINE_SECONDS,
  DEADLINE_EXIT_CODE,
  trafficScript,
  type SentRequest,
} from '../../../server/src/checks/traffic-check.js';
import { runChecks } from '../../../server/src/checks/run-checks.js';
import { parseProcNetIpVs } from '../../../server/src/ipvs/parse-proc-net-ip-vs.js';
import { parseProcNetIpVsConn } from '../../../server/src/ipvs/parse-proc-net-ip-vs-conn.js';
import type { CheckSpec, IpvsRealServersCheck, IpvsServiceCheck, TrafficCheck } from '../../../server/src/labs/lab.js';
import type { ExecResult } from '../../../server/src/runtime/runtime.js';
import { kernelFixture } from '../../utils/fixtures.js';
import { standInBin } from '../../utils/stand-in-bin.js';

const PROC = {
  empty: kernelFixture('empty.proc-net-ip_vs.txt'),
  rrMasq: kernelFixture('rr-masq.proc-net-ip_vs.txt'),
  mixed: kernelFixture('mixed.proc-net-ip_vs.txt'),
};
const NO_PROC: ExecResult = { exitCode: 1, stdout: '', stderr: 'cat: /proc/net/ip_vs: No such file or directory\n' };

/** `172.17.0.2` → `AC110002`: an IPv4 address as /proc/net/ip_vs and /proc/net/ip_vs_conn print it. */
const hexIp = (ip: string): string =>
  ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
/** `80` → `0050`. */
const hexPort = (port: number): string => port.toString(16).padStart(4, '0').toUpperCase();

/**
 * `ipvsadm -Ln` output rewritten in the /proc/net/ip_vs notation (hex addresses and ports), for
 * states captured only with ipvsadm. IPv4 TCP/UDP only; real servers keep ipvsadm's order.
 */
function procFromIpvsadm(text: string): string {
  const hex = (ip: string, port: string) => `${hexIp(ip)}:${hexPort(Number(port))}`;
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
    readFile(host, file) {
      return Promise.reject(new Error(`these checks read no files, yet readFile(${host}, ${file}) was called`));
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

describe('ipvs-service with persistent, on real kernel output', () => {
  // mixed.proc-net-ip_vs.txt has `sh persistent 75000` on 172.17.0.2:443: jiffies, at HZ 250 the
  // 300 s of `-p 300` that mixed.ipvsadm-Ln.txt shows. 172.17.0.2:80 (rr) is not persistent.
  const persistent = (s: string, seconds: number, scheduler?: string): IpvsServiceCheck => ({ ...service(s, scheduler), persistent: seconds });
  const MIXED_SERVICES = ['TCP 172.17.0.2:443', 'TCP 172.17.0.2:8080', 'TCP 172.17.0.2:80', 'TCP [::1]:80', 'UDP 172.17.0.2:53', 'FWM 7'];

  it('passes for persistent: 300 on the service the kernel lists with 75000 jiffies', async () => {
    const result = await check([persistent('TCP 172.17.0.2:443', 300)], procAnswer(PROC.mixed));
    assert.equal(result.passed, true);
    assert.equal(result.message, 'TCP 172.17.0.2:443 exists, persistent for 300 s.');
    assert.deepEqual(result.details, { host: 'director', services: MIXED_SERVICES, scheduler: 'sh', persistentSeconds: 300 });
  });

  it('passes with the scheduler and the persistence both asked for', async () => {
    const result = await check([persistent('TCP 172.17.0.2:443', 300, 'sh')], procAnswer(PROC.mixed));
    assert.equal(result.passed, true);
    assert.equal(result.message, 'TCP 172.17.0.2:443 exists with scheduler sh, persistent for 300 s.');
  });

  it('fails for persistent: 10800 on a service persistent for 300 s, naming both and the fix', async () => {
    const result = await check([persistent('TCP 172.17.0.2:443', 10800)], procAnswer(PROC.mixed));
    assert.equal(result.passed, false);
    assert.equal(result.message, 'TCP 172.17.0.2:443 is persistent for 300 s; this step wants 10800 s (ipvsadm -E -t 172.17.0.2:443 -s sh -p 10800).');
    assert.deepEqual(result.details, { host: 'director', services: MIXED_SERVICES, scheduler: 'sh', persistentSeconds: 300 });
  });

  it('reads the timeout in seconds, not jiffies: persistent: 75000 fails', async () => {
    const result = await check([persistent('TCP 172.17.0.2:443', 75000)], procAnswer(PROC.mixed));
    assert.equal(result.passed, false);
    assert.match(result.message, /^TCP 172\.17\.0\.2:443 is persistent for 300 s; this step wants 75000 s /);
  });

  it('fails for persistent: 10800 on a service that is not persistent, with the -p to add', async () => {
    const result = await check([persistent('TCP 172.17.0.2:80', 10800)], procAnswer(PROC.mixed));
    assert.equal(result.passed, false);
    assert.equal(result.message, 'TCP 172.17.0.2:80 is not persistent; this step wants persistence of 10800 s (ipvsadm -E -t 172.17.0.2:80 -s rr -p 10800).');
    assert.deepEqual(result.details, { host: 'director', services: MIXED_SERVICES, scheduler: 'rr', persistentSeconds: 0 });
  });

  it('fails for persistent: 0 on a persistent service, saying to edit it without -p', async () => {
    const result = await check([persistent('TCP 172.17.0.2:443', 0)], procAnswer(PROC.mixed));
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'TCP 172.17.0.2:443 is persistent (300 s); this step wants it without persistence (ipvsadm -E -t 172.17.0.2:443 -s sh, without -p).',
    );
  });

  it('passes for persistent: 0 on a service that is not persistent', async () => {
    const result = await check([persistent('TCP 172.17.0.2:80', 0, 'rr')], procAnswer(PROC.mixed));
    assert.equal(result.passed, true);
    assert.equal(result.message, 'TCP 172.17.0.2:80 exists with scheduler rr.');
  });

  it('passes a persistent service when the check does not mention persistence', async () => {
    const result = await check([service('TCP 172.17.0.2:443', 'sh')], procAnswer(PROC.mixed));
    assert.equal(result.passed, true);
    assert.equal(result.message, 'TCP 172.17.0.2:443 exists with scheduler sh.');
  });

  it('reports a wrong scheduler before a wrong persistence', async () => {
    const result = await check([persistent('TCP 172.17.0.2:443', 10800, 'rr')], procAnswer(PROC.mixed));
    assert.equal(result.message, 'TCP 172.17.0.2:443 uses scheduler sh; this step asks for rr (change it with ipvsadm -E -t 172.17.0.2:443 -s rr).');
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

// ---- traffic ------------------------------------------------------------------------------------

const BACKENDS = { 'nginx-1': 'nginx 1', 'nginx-2': 'nginx 2' } as const;
const THREE_BACKENDS = { ...BACKENDS, 'nginx-3': 'nginx 3' } as const;
const VIP = '172.17.0.2';
/** curl run in the director to its own VIP comes from the director's address, as in rr-masq.ipvsadm-Lnc.txt. */
const DIRECTOR_IP = '172.17.0.2';
/** The session of the captures: `{{vip}}` filled, backends named by their addresses. */
const session = { variables: { vip: VIP }, hostIps: backendIps };
const CONN_HEADER = 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData';
/** Which backend's address each body comes from, for building the kernel's side of a fake. */
const ADDRESS_OF_BODY = new Map([
  ['nginx 1', '10.20.0.11'],
  ['nginx 2', '10.20.0.12'],
  ['nginx 3', '10.20.0.13'],
]);

/** The bodies of one line of scheduler-sequences.txt, e.g. `rr:` → ['nginx 2', 'nginx 1', ...]. */
function capturedSequence(label: string): string[] {
  const line = kernelFixture('scheduler-sequences.txt')
    .split('\n')
    .find((l) => l.startsWith(`${label}: `));
  assert.ok(line, `no "${label}:" line in scheduler-sequences.txt`);
  return line.slice(label.length + 2).match(/nginx \d+/g) ?? [];
}

function traffic(requests: number, extra: Partial<Omit<TrafficCheck, 'kind'>> = {}): TrafficCheck {
  return { kind: 'traffic', host: 'director', from: 'director', scheduler: 'rr', url: 'http://{{vip}}/', requests, backends: BACKENDS, sources: [], ...extra };
}

/** A request answered with `body`, sent from `from`:`port`. */
const answered = (body: string, port: number, from = DIRECTOR_IP): SentRequest => ({ exitCode: 0, localAddress: from, localPort: port, text: body });
/** A request curl gave up on: it prints no local address and port 0 then. */
const failed = (exitCode: number, error: string): SentRequest => ({ exitCode, localAddress: '', localPort: 0, text: error });
/** Requests answered with these bodies, in order, from the ports the kernel hands out one after another. */
const answeredAll = (bodies: readonly string[], from: (i: number) => string = () => DIRECTOR_IP): SentRequest[] =>
  bodies.map((body, i) => answered(body, 52450 + 2 * i, from(i)));

/** The marker of the tests that call trafficScript and parseTrafficOutput themselves. */
const MARKER = '@@T3st-marker_0';

/** The record curl writes after a request, as trafficScript's -w asks: it starts and ends with a newline. */
const record = (marker: string, r: SentRequest): string => `\n${marker}\t${r.localAddress}\t${r.localPort}\t${r.exitCode}\t${r.exitCode === 0 ? '' : r.text}\n`;
/** What the script prints for these requests: each reply's body (a backend's ends in a newline), then curl's record. */
const scriptOutput = (requests: readonly SentRequest[], marker: string): string =>
  requests.map((r) => `${r.exitCode === 0 ? `${r.text}\n` : ''}${record(marker, r)}`).join('');

/** How the fake answers the traffic script: fixed, or made from the marker in the script it is sent. */
type TrafficAnswer = ExecResult | ((marker: string, script: string) => ExecResult);
/** The script's answer for these requests, ending as the script does: with the exit code of the first failed curl. */
const sentAs =
  (requests: readonly SentRequest[], end: Partial<ExecResult> = {}): TrafficAnswer =>
  (marker) => ({ exitCode: requests.find((r) => r.exitCode !== 0)?.exitCode ?? 0, stdout: scriptOutput(requests, marker), stderr: '', ...end });

/** The marker a traffic script's -w string asks curl to print (the script writes `\t` for curl to expand). */
function markerOf(script: string): string {
  const m = /(@@[\w-]+)\\t%\{local_ip\}/.exec(script);
  assert.ok(m?.[1], `no marker in the -w of ${JSON.stringify(script)}`);
  return m[1];
}

/** What a traffic script runs: one curl under the deadline, its stderr dropped, then the exit-code mapping. */
const SCRIPT_START = `timeout ${TRAFFIC_DEADLINE_SECONDS} curl -sS --fail-early `;
const SCRIPT_END = ` 2>/dev/null; rc=$?; [ "$rc" != 124 ] || rc=${DEADLINE_EXIT_CODE}; exit "$rc"`;
/** The transfers of a traffic script, as the script writes them (shell-quoted), split on `--next`. */
function transfersOf(script: string): string[] {
  assert.ok(script.startsWith(SCRIPT_START) && script.endsWith(SCRIPT_END), script);
  return script.slice(SCRIPT_START.length, -SCRIPT_END.length).split(' --next ');
}
/** How often `word` occurs in `text`. */
const occurrences = (text: string, word: string): number => text.split(word).length - 1;

/** One line of /proc/net/ip_vs_conn: a connection from client:port to the VIP, sent to destination:80. */
function connLine(client: string, port: number, destination: string, state = 'TIME_WAIT', expires = 119): string {
  return `TCP ${hexIp(client)} ${hexPort(port)} ${hexIp(VIP)} 0050 ${hexIp(destination)} 0050 ${state.padEnd(11)} ${String(expires).padStart(7)}`;
}
const connTable = (lines: readonly string[]): string => `${[CONN_HEADER, ...lines].join('\n')}\n`;
/**
 * The kernel's record of these requests: each answered one went to the backend whose body it got
 * (or to `sentTo(request)`), listed in reverse, since the kernel prints its hash order, not the
 * order sent.
 */
function connFor(requests: readonly SentRequest[], sentTo: (r: SentRequest, i: number) => string | undefined = (r) => ADDRESS_OF_BODY.get(r.text)): string {
  const lines = requests.flatMap((r, i) => {
    if (r.exitCode !== 0) return [];
    const destination = sentTo(r, i);
    assert.ok(destination, `no backend address for the reply ${JSON.stringify(r.text)}`);
    return [connLine(r.localAddress, r.localPort, destination)];
  });
  return connTable(lines.reverse());
}

/** What the fake hosts answer: the traffic script, and the director's tables. */
interface FakeSession {
  /** The traffic script's answer; without it, sending traffic fails the test. */
  readonly traffic?: TrafficAnswer;
  readonly conn?: ExecResult | string;
  /** /proc/net/ip_vs; without it, reading it fails as on a kernel without IPVS. */
  readonly proc?: string;
  /** `ipvsadm -L -n`; without it, ipvsadm is not installed. */
  readonly ipvsadm?: string;
}

/** The requests, answered as `requests` says, with the kernel's connection table agreeing. */
const agreeing = (requests: readonly SentRequest[], extra: Omit<FakeSession, 'traffic'> = {}): FakeSession => ({
  traffic: sentAs(requests),
  conn: connFor(requests),
  ...extra,
});

function fake(world: FakeSession): (host: string, script: string) => ExecResult {
  const answer = (r: ExecResult | string): ExecResult => (typeof r === 'string' ? procAnswer(r) : r);
  return (host, script) => {
    if (script.startsWith('timeout ')) {
      assert.ok(world.traffic, `the check sent traffic: ${script}`);
      return typeof world.traffic === 'function' ? world.traffic(markerOf(script), script) : world.traffic;
    }
    assert.equal(host, 'director', `${script} must read the director, not ${host}`);
    switch (script) {
      case 'cat /proc/net/ip_vs_conn':
        return answer(world.conn ?? connTable([]));
      case 'cat /proc/net/ip_vs':
        return world.proc === undefined ? NO_PROC : procAnswer(world.proc);
      case 'ipvsadm -L -n':
        return world.ipvsadm === undefined ? { exitCode: 127, stdout: '', stderr: 'sh: 1: ipvsadm: not found\n' } : procAnswer(world.ipvsadm);
    }
    throw new Error(`unexpected command in ${host}: ${script}`);
  };
}

describe('trafficScript', () => {
  /** The -w argument of each transfer as the script writes it: curl itself turns \n and \t into newline and tab. */
  const WRITE_OUT = String.raw`'\n${MARKER}\t%{local_ip}\t%{local_port}\t%{exitcode}\t%{errormsg}\n'`;
  /** The options each transfer starts with, before its --interface when it has one. */
  const OPTIONS = `--connect-timeout 2 --max-time 2 -H 'Connection: close'`;

  it(`runs one curl under timeout ${TRAFFIC_DEADLINE_SECONDS}, one transfer per request joined by --next, without loop, seq or date`, () => {
    const script = trafficScript('http://172.17.0.2/', 3, [], MARKER);
    const transfer = `${OPTIONS} -w ${WRITE_OUT} 'http://172.17.0.2/'`;
    assert.equal(
      script,
      `timeout ${TRAFFIC_DEADLINE_SECONDS} curl -sS --fail-early ${transfer} --next ${transfer} --next ${transfer} 2>/dev/null; ` +
        `rc=$?; [ "$rc" != 124 ] || rc=${DEADLINE_EXIT_CODE}; exit "$rc"`,
    );
    assert.equal(TRAFFIC_DEADLINE_SECONDS, 25);
    assert.equal(DEADLINE_EXIT_CODE, 125);
    for (const word of ['seq', 'date', 'for ', 'while ', 'done', 'sh -c', 'r()', 'exit $?', '--interface'])
      assert.ok(!script.includes(word), `${word} in ${script}`);
  });

  it('sends the asked number of transfers, N-1 --next between them, from one curl that stops at the first failure', () => {
    const script = trafficScript('http://172.17.0.2/', 12, [], MARKER);
    const transfers = transfersOf(script);
    assert.equal(transfers.length, 12);
    assert.equal(occurrences(script, '--next'), 11);
    assert.equal(occurrences(script, '--fail-early'), 1);
    assert.equal(occurrences(script, 'curl '), 1);
    assert.equal(occurrences(` ${script}`, ' timeout '), 1);
    // --next resets a transfer's options: each needs its own timeouts, header and -w.
    assert.ok(
      transfers.every((t) => t === `${OPTIONS} -w ${WRITE_OUT} 'http://172.17.0.2/'`),
      transfers.join('\n'),
    );
    assert.equal(transfersOf(trafficScript('http://172.17.0.2/', 1, [], MARKER)).length, 1);
    assert.ok(!trafficScript('http://172.17.0.2/', 1, [], MARKER).includes('--next'));
  });

  it('with sources, sends each transfer from the next one with --interface, quoting them and the URL for the shell', () => {
    const script = trafficScript("http://x/it's", 5, ['10.0.0.1', "it's"], MARKER);
    const url = `'http://x/it'\\''s'`;
    assert.deepEqual(transfersOf(script), [
      `${OPTIONS} --interface '10.0.0.1' -w ${WRITE_OUT} ${url}`,
      `${OPTIONS} --interface 'it'\\''s' -w ${WRITE_OUT} ${url}`,
      `${OPTIONS} --interface '10.0.0.1' -w ${WRITE_OUT} ${url}`,
      `${OPTIONS} --interface 'it'\\''s' -w ${WRITE_OUT} ${url}`,
      `${OPTIONS} --interface '10.0.0.1' -w ${WRITE_OUT} ${url}`,
    ]);
  });

  it('rotates three sources in order, starting over after the last', () => {
    const transfers = transfersOf(trafficScript('http://172.17.0.2/', 7, ['10.0.0.1', '10.0.0.2', '10.0.0.3'], MARKER));
    assert.deepEqual(
      transfers.map((t) => /--interface '([^']*)'/.exec(t)?.[1]),
      ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1'],
    );
  });
});

describe('newMarker', () => {
  it('makes a different @@ + base64url marker every time, which parseTrafficOutput reads', () => {
    const markers = new Set(Array.from({ length: 20 }, () => newMarker()));
    assert.equal(markers.size, 20);
    for (const marker of markers) assert.match(marker, /^@@[A-Za-z0-9_-]{12}$/);
    const [marker] = markers;
    assert.deepEqual(parseTrafficOutput(scriptOutput([answered('nginx 1', 40001)], marker!), marker!), [answered('nginx 1', 40001)]);
  });
});

describe('trafficScript run by a real sh with a stand-in curl', () => {
  const realTimeout = execFileSync('/bin/sh', ['-c', 'command -v timeout'], { encoding: 'utf8' }).trim();
  const bin = standInBin('ipvs-lab-curl-', {
    // Like curl 7.88, runs the transfers its arguments hold, split on --next, one after another;
    // --next resets a transfer's options (-H, --interface, -w), --fail-early (anywhere) stops after
    // the first failing transfer and exits with its code, and without it curl exits with the last
    // transfer's code. Transfer n (counted from 1 in each run) answers like rr over two nginx
    // backends, starting with the one added last, from port 40000 + n of the --interface address
    // (or the director's); it fails from FAIL_AT on as curl does when nothing listens, is killed
    // from KILL_AT on (no record), or hangs from HANG_AT on after part of a body. It writes -w after
    // the body, turning \n and \t into newline and tab and filling the variables (no address and
    // port 0 on a failed connect), on failure too. It logs each run, and per transfer its
    // --interface (`-` for none), its URL and its headers (joined with `|`, `-` for none). An
    // option it does not know, or a transfer without exactly one URL, is an error (exit 2).
    curl: String.raw`#!/bin/sh
echo run >> "$STATE.runs"
fail_early=; n=0; rc=0
reset() { interface=-; format=; url=; headers=; }
transfer() {
  [ -n "$url" ] || { echo "stand-in curl: transfer $((n + 1)) has no URL" >&2; exit 2; }
  n=$((n + 1))
  echo "$interface" >> "$STATE.interfaces"
  printf '%s\n' "$url" >> "$STATE.urls"
  printf '%s\n' "${'${headers:--}'}" >> "$STATE.headers"
  if [ -n "$KILL_AT" ] && [ "$n" -ge "$KILL_AT" ]; then kill -9 $$; fi
  if [ -n "$HANG_AT" ] && [ "$n" -ge "$HANG_AT" ]; then printf 'ngi'; sleep 30; fi
  if [ -n "$FAIL_AT" ] && [ "$n" -ge "$FAIL_AT" ]; then
    rc=7; ip=; port=0; error="Failed to connect to 172.17.0.2 port 80 after 0 ms: Couldn't connect to server"
    echo "curl: ($rc) $error" >&2
  else
    rc=0; port=$((40000 + n)); error=
    if [ "$interface" = - ]; then ip=172.17.0.2; else ip=$interface; fi
    if [ $((n % 2)) = 1 ]; then printf 'nginx 2\n'; else printf 'nginx 1\n'; fi
  fi
  printf '%b' "$format" | sed -e "s|%{local_ip}|$ip|g" -e "s|%{local_port}|$port|g" -e "s|%{exitcode}|$rc|g" -e "s|%{errormsg}|$error|g"
  if [ "$rc" != 0 ] && [ -n "$fail_early" ]; then exit "$rc"; fi
}
# --fail-early is a global option: it counts wherever it is.
for arg do [ "$arg" != --fail-early ] || fail_early=1; done
reset
while [ $# -gt 0 ]; do
  case $1 in
    -sS|--fail-early) shift ;;
    --connect-timeout|--max-time) shift 2 ;;
    -H) headers=${'${headers:+$headers|}$2'}; shift 2 ;;
    --interface) interface=$2; shift 2 ;;
    -w) format=$2; shift 2 ;;
    --next) transfer; reset; shift ;;
    -*) echo "stand-in curl: unknown option $1" >&2; exit 2 ;;
    *) [ -z "$url" ] || { echo "stand-in curl: a second URL in one transfer" >&2; exit 2; }; url=$1; shift ;;
  esac
done
transfer
exit "$rc"
`,
    // timeout DURATION COMMAND...: logs DURATION, then runs the command under the real timeout, for
    // TIMEOUT_AFTER seconds instead when that is set.
    timeout: `#!/bin/sh\necho "$1" >> "$STATE.timeout"\nd=$1; shift\nexec ${realTimeout} "\${TIMEOUT_AFTER:-$d}" "$@"\n`,
  });
  /** Runs the script with real sh and the stand-ins first on PATH: its answer, and what the stand-ins logged. */
  const runScript = (script: string, env: Record<string, string> = {}) => {
    const run = bin.newRun();
    const result = run.exec(script, env);
    return {
      result,
      /** One entry per curl process. */
      runs: run.log('.runs').length,
      /** One entry per transfer curl started, in order. */
      interfaces: run.log('.interfaces'),
      urls: run.log('.urls'),
      headers: run.log('.headers'),
      timeouts: run.log('.timeout'),
    };
  };
  /** The check's own traffic script, run as runScript runs it; each run's answer is kept in `runs`. */
  const runningScripts = (env: Record<string, string> = {}) => {
    const runs: ExecResult[] = [];
    const traffic = (_marker: string, script: string): ExecResult => {
      const { result } = runScript(script, env);
      runs.push(result);
      return result;
    };
    return { runs, traffic };
  };

  it('the stand-in, like curl, runs every transfer of one invocation, and on past a failure without --fail-early', () => {
    const { result, runs, urls, headers } = runScript(
      "curl -H 'A: 1' -w '[%{exitcode}]' http://a/ --next -w '\\t[%{local_port}]\\n' http://b/ --next -H 'B: 2' -w '[%{exitcode}]' http://c/",
      { FAIL_AT: '2' },
    );
    assert.equal(result.stdout, 'nginx 2\n[0]\t[0]\n[7]');
    assert.equal(result.exitCode, 7);
    assert.equal(runs, 1);
    assert.deepEqual(urls, ['http://a/', 'http://b/', 'http://c/']);
    assert.deepEqual(headers, ['A: 1', '-', 'B: 2'], '--next resets the headers');
    assert.equal(runScript('curl -w x http://a/ --next -w x').result.exitCode, 2, 'a transfer without a URL');
    assert.equal(runScript('curl --bogus http://a/').result.exitCode, 2, 'an option the stand-in does not know');
  });

  it('writes the body, then the record curl prints, for each request, which the check matches to the kernel table', async () => {
    const { result, runs, interfaces, headers, timeouts } = runScript(trafficScript('http://172.17.0.2/', 6, [], MARKER));
    assert.equal(
      result.stdout,
      [40001, 40002, 40003, 40004, 40005, 40006].map((port, i) => `nginx ${i % 2 === 0 ? 2 : 1}\n\n${MARKER}\t172.17.0.2\t${port}\t0\t\n`).join(''),
    );
    assert.equal(result.exitCode, 0);
    assert.equal(runs, 1, 'one curl process for all the requests');
    assert.deepEqual(timeouts, [String(TRAFFIC_DEADLINE_SECONDS)]);
    assert.deepEqual(interfaces, ['-', '-', '-', '-', '-', '-']);
    assert.deepEqual(headers, Array<string>(6).fill('Connection: close'), 'every transfer asks the server to close its connection');
    const sent = parseTrafficOutput(result.stdout, MARKER);
    assert.deepEqual(sent[0], { exitCode: 0, localAddress: '172.17.0.2', localPort: 40001, text: 'nginx 2' });
    const { runs: scripts, traffic: sendReal } = runningScripts();
    const verdict = await check([traffic(6)], fake({ traffic: sendReal, conn: connFor(sent) }), session);
    assert.equal(verdict.passed, true, verdict.message);
    assert.deepEqual(verdict.details?.sequence, ['nginx-2', 'nginx-1', 'nginx-2', 'nginx-1', 'nginx-2', 'nginx-1']);
    assert.equal(scripts.length, 1);
  });

  it("stops after the first failed transfer with curl's exit code, keeping curl's error", async () => {
    const { result, runs, interfaces } = runScript(trafficScript('http://172.17.0.2/', 12, [], MARKER), { FAIL_AT: '3' });
    assert.equal(
      result.stdout,
      `nginx 2\n\n${MARKER}\t172.17.0.2\t40001\t0\t\nnginx 1\n\n${MARKER}\t172.17.0.2\t40002\t0\t\n` +
        `\n${MARKER}\t\t0\t7\tFailed to connect to 172.17.0.2 port 80 after 0 ms: Couldn't connect to server\n`,
    );
    assert.equal(result.exitCode, 7);
    assert.equal(result.stderr, '', "curl's own stderr goes to /dev/null");
    assert.equal(runs, 1);
    assert.equal(interfaces.length, 3, 'curl started 3 of the 12 transfers');
    const { traffic: sendReal } = runningScripts({ FAIL_AT: '3' });
    const verdict = await check([traffic(12)], fake({ traffic: sendReal, conn: connFor(parseTrafficOutput(result.stdout, MARKER)) }), session);
    assert.equal(verdict.passed, false);
    assert.equal(
      verdict.message,
      "request 3 of 12 failed (Failed to connect to 172.17.0.2 port 80 after 0 ms: Couldn't connect to server) after 2 answered; " +
        'the other 9 were not sent (sequence before it: nginx-2 nginx-1)',
    );
    assert.equal(verdict.details?.sent, 3);
    assert.equal(verdict.details?.answered, 2);
  });

  it('reports the last request failing when only it failed', async () => {
    const { result, interfaces } = runScript(trafficScript('http://172.17.0.2/', 4, [], MARKER), { FAIL_AT: '4' });
    assert.equal(result.exitCode, 7);
    assert.equal(interfaces.length, 4);
    assert.deepEqual(
      parseTrafficOutput(result.stdout, MARKER).map((r) => r.exitCode),
      [0, 0, 0, 7],
    );
    const { traffic: sendReal } = runningScripts({ FAIL_AT: '4' });
    const verdict = await check([traffic(4)], fake({ traffic: sendReal, conn: connFor(parseTrafficOutput(result.stdout, MARKER)) }), session);
    assert.equal(verdict.message, "request 4 failed: Failed to connect to 172.17.0.2 port 80 after 0 ms: Couldn't connect to server");
  });

  it('sends from each source in turn, and the connections come from them', () => {
    const sources = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
    const { result, runs, interfaces } = runScript(trafficScript('http://172.17.0.2/', 7, sources, MARKER));
    assert.equal(runs, 1);
    assert.deepEqual(interfaces, ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1']);
    assert.deepEqual(
      parseTrafficOutput(result.stdout, MARKER).map((r) => `${r.localAddress}:${r.localPort}`),
      ['10.0.0.1:40001', '10.0.0.2:40002', '10.0.0.3:40003', '10.0.0.1:40004', '10.0.0.2:40005', '10.0.0.3:40006', '10.0.0.1:40007'],
    );
  });

  it('hands curl the URL and the sources exactly as given, quotes, $ and backquotes included', () => {
    const url = "http://172.17.0.2/it's/$(touch pwned)/`touch pwned2`";
    const sources = ['10.0.0.1', "it's $HOME"];
    const { result, runs, interfaces, urls } = runScript(trafficScript(url, 3, sources, MARKER));
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(runs, 1);
    assert.deepEqual(urls, [url, url, url]);
    assert.deepEqual(interfaces, ['10.0.0.1', "it's $HOME", '10.0.0.1']);
    assert.ok(!existsSync(path.join(bin.dir, 'pwned')) && !existsSync(path.join(bin.dir, 'pwned2')), 'the URL ran a command');
  });

  it('sh from two sources: the stand-in keeps each source on one backend, and the check passes', async () => {
    const sources = ['172.17.0.3', '172.17.0.4'];
    const { result } = runScript(trafficScript('http://172.17.0.2/', 6, sources, MARKER));
    const sent = parseTrafficOutput(result.stdout, MARKER);
    const { traffic: sendReal } = runningScripts();
    const { ctx, calls } = contextFor(
      fake({
        traffic: sendReal,
        conn: connFor(sent),
        proc: PROC.rrMasq.replace('AC110002:0050 rr', 'AC110002:0050 sh'),
        ipvsadm: kernelFixture('rr-masq.ipvsadm-Ln.txt').replace('172.17.0.2:80 rr', '172.17.0.2:80 sh'),
      }),
      session,
    );
    const verdict = await runChecks([traffic(6, { service: 'TCP {{vip}}:80', scheduler: 'sh', sources })], ctx);
    assert.equal(verdict.passed, true, verdict.message);
    assert.equal(
      verdict.message,
      'sh: all 3 requests from 172.17.0.3 went to nginx-2 and all 3 requests from 172.17.0.4 went to nginx-1: sh hashes the client address, ' +
        'so every connection from one client goes to the same server (sequence: nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1)',
    );
    const sentScript = calls.find((c) => c.script.startsWith('timeout '))?.script ?? '';
    assert.equal(sentScript, trafficScript('http://172.17.0.2/', 6, sources, markerOf(sentScript)));
  });

  it('is ended by timeout while a request hangs, and the check says how many were sent', async () => {
    // The stand-in timeout waits 2 s instead of 25; request 3 hangs after part of its body.
    const env = { HANG_AT: '3', TIMEOUT_AFTER: '2' };
    const { runs, traffic: sendReal } = runningScripts(env);
    const { ctx, calls } = contextFor(fake({ traffic: sendReal }), session);
    const verdict = await runChecks([traffic(12)], ctx);
    const [result] = runs;
    assert.equal(result?.exitCode, DEADLINE_EXIT_CODE, 'timeout says 124; the script says 125, which the server does not take for its own timeout');
    const marker = markerOf(calls[0]?.script ?? '');
    assert.equal(result.stdout, `nginx 2\n\n${marker}\t172.17.0.2\t40001\t0\t\nnginx 1\n\n${marker}\t172.17.0.2\t40002\t0\t\nngi`);
    assert.equal(verdict.passed, false);
    assert.equal(
      verdict.message,
      `sending the 12 requests took over ${TRAFFIC_DEADLINE_SECONDS} s, so the check stopped after 2: the engine is slow or busy right now; press Check again`,
    );
    assert.equal(verdict.details?.sent, 2);
    assert.equal(calls.length, 1, 'nothing to cross-check');
  });

  it('reports a curl killed before writing its record as the script stopping without a failure', async () => {
    const { result, runs, interfaces } = runScript(trafficScript('http://172.17.0.2/', 12, [], MARKER), { KILL_AT: '3' });
    assert.equal(runs, 1);
    assert.equal(interfaces.length, 3, 'curl was killed in its 3rd transfer');
    assert.equal(result.exitCode, 137);
    assert.deepEqual(
      parseTrafficOutput(result.stdout, MARKER).map((r) => r.exitCode),
      [0, 0],
      `the script printed ${JSON.stringify(result.stdout)}`,
    );
    const { traffic: sendReal } = runningScripts({ KILL_AT: '3' });
    const verdict = await check([traffic(12)], fake({ traffic: sendReal }), session);
    assert.equal(verdict.passed, false);
    assert.equal(
      verdict.message,
      'the traffic script in director stopped after 2 of 12 requests without reporting a failure (exit code 137), so 10 requests have no result',
    );
    assert.equal(verdict.details?.sent, 2);
    assert.equal(verdict.details?.exitCode, 137);
  });

  it('reports a host without curl as such', async () => {
    const noCurl = mkdtempSync(path.join(tmpdir(), 'ipvs-lab-nocurl-'));
    try {
      for (const tool of ['timeout', 'sh'])
        symlinkSync(execFileSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), path.join(noCurl, tool));
      const run = (script: string): ExecResult => {
        const child = spawnSync('/bin/sh', ['-c', script], { env: { PATH: noCurl }, encoding: 'utf8', timeout: 30_000 });
        return { exitCode: child.status ?? -1, stdout: child.stdout, stderr: child.stderr };
      };
      const result = run(trafficScript('http://172.17.0.2/', 4, [], MARKER));
      // timeout cannot run curl (exit 127), and says so where curl's stderr goes (/dev/null): only the exit code tells.
      assert.deepEqual(result, { exitCode: 127, stdout: '', stderr: '' });
      const verdict = await check([traffic(4)], fake({ traffic: (_marker, script) => run(script) }), session);
      assert.equal(verdict.passed, false);
      assert.equal(verdict.message, 'curl is not installed in director, so the traffic cannot be measured.');
    } finally {
      rmSync(noCurl, { recursive: true, force: true });
    }
  });
});

describe('trafficScript run by a real sh with the real curl', { skip: spawnSync('curl', ['--version']).status !== 0 && 'curl is not installed' }, () => {
  /** Runs the script with real sh, timeout and curl (no proxy settings), without blocking the server below. */
  const runReal = (script: string): Promise<ExecResult> =>
    new Promise((resolve) => {
      execFile('/bin/sh', ['-c', script], { env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
        resolve({ exitCode: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      });
    });
  /**
   * A server answering `nginx 1` and `nginx 2` in turn, which notes the client port and the
   * Connection header of each request. It keeps connections open unless the client asks otherwise,
   * and stops listening after `stopAfter` requests when that is given.
   */
  const listen = async (stopAfter?: number) => {
    const ports: number[] = [];
    const connectionHeaders: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      ports.push(req.socket.remotePort ?? 0);
      connectionHeaders.push(req.headers.connection);
      if (ports.length === stopAfter) server.close();
      res.end(`nginx ${ports.length % 2 === 1 ? 1 : 2}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { ports, connectionHeaders, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  };

  it('writes the records parseTrafficOutput reads, each from a new connection that it asked the server to close', async () => {
    const server = await listen();
    try {
      const marker = newMarker();
      const result = await runReal(trafficScript(`http://127.0.0.1:${server.port}/`, 3, ['127.0.0.1'], marker));
      assert.equal(result.exitCode, 0, result.stderr);
      const sent = parseTrafficOutput(result.stdout, marker);
      assert.deepEqual(
        sent,
        ['nginx 1', 'nginx 2', 'nginx 1'].map((text, i) => ({ exitCode: 0, localAddress: '127.0.0.1', localPort: server.ports[i], text })),
        result.stdout,
      );
      assert.equal(new Set(sent.map((r) => r.localPort)).size, 3, 'each request on a new connection');
      assert.deepEqual(server.connectionHeaders, ['close', 'close', 'close']);
    } finally {
      await server.close();
    }
  });

  it('would send every request on one connection without Connection: close, as one curl keeps connections open', async () => {
    const server = await listen();
    try {
      const marker = newMarker();
      const script = trafficScript(`http://127.0.0.1:${server.port}/`, 3, [], marker);
      assert.equal(occurrences(script, " -H 'Connection: close'"), 3);
      const result = await runReal(script.replaceAll(" -H 'Connection: close'", ''));
      assert.equal(result.exitCode, 0, result.stderr);
      const sent = parseTrafficOutput(result.stdout, marker);
      assert.equal(sent.length, 3, result.stdout);
      assert.equal(new Set(sent.map((r) => r.localPort)).size, 1, 'curl reused the connection');
    } finally {
      await server.close();
    }
  });

  it("stops at a refused connection with curl's exit code 7 and error, with no address and port 0", async () => {
    const server = await listen();
    await server.close();
    const marker = newMarker();
    const result = await runReal(trafficScript(`http://127.0.0.1:${server.port}/`, 3, [], marker));
    assert.equal(result.exitCode, 7);
    const sent = parseTrafficOutput(result.stdout, marker);
    assert.equal(sent.length, 1, result.stdout);
    assert.deepEqual({ ...sent[0], text: '' }, { exitCode: 7, localAddress: '', localPort: 0, text: '' });
    assert.match(sent[0]?.text ?? '', new RegExp(`^Failed to connect to 127\\.0\\.0\\.1 port ${server.port}\\b`));
  });

  it('stops after the first failed transfer, printing its record, and sends no more', async () => {
    const server = await listen(1);
    try {
      const marker = newMarker();
      const result = await runReal(trafficScript(`http://127.0.0.1:${server.port}/`, 4, [], marker));
      assert.equal(result.exitCode, 7, result.stdout);
      assert.deepEqual(
        parseTrafficOutput(result.stdout, marker).map((r) => [r.exitCode, r.text.replace(/ after .*/, '')]),
        [
          [0, 'nginx 1'],
          [7, `Failed to connect to 127.0.0.1 port ${server.port}`],
        ],
      );
      assert.equal(server.ports.length, 1);
    } finally {
      await server.close();
    }
  });
});

describe('parseTrafficOutput', () => {
  it('reads the body before each record, and the address, port and exit code of the record', () => {
    const output =
      `nginx 2\n\n${MARKER}\t172.17.0.2\t52498\t0\t\n` +
      `<html>\n<body>\tWelcome to nginx!</body>\r\n</html>\n\n${MARKER}\t172.17.0.2\t52452\t0\t\n` +
      `\n${MARKER}\t\t0\t7\tFailed to connect to 172.17.0.2 port 80 after 0 ms: Couldn't connect to server\n`;
    assert.deepEqual(parseTrafficOutput(output, MARKER), [
      { exitCode: 0, localAddress: '172.17.0.2', localPort: 52498, text: 'nginx 2' },
      { exitCode: 0, localAddress: '172.17.0.2', localPort: 52452, text: '<html> <body> Welcome to nginx!</body> </html>' },
      { exitCode: 7, localAddress: '', localPort: 0, text: "Failed to connect to 172.17.0.2 port 80 after 0 ms: Couldn't connect to server" },
    ]);
  });

  it("takes curl's error, not the part of a body that came, for a failed request", () => {
    const output = `nginx 1\n\n${MARKER}\t172.17.0.2\t40001\t0\t\nngin\n${MARKER}\t172.17.0.2\t40002\t28\tOperation timed out after 2001 milliseconds\n`;
    assert.deepEqual(parseTrafficOutput(output, MARKER), [
      { exitCode: 0, localAddress: '172.17.0.2', localPort: 40001, text: 'nginx 1' },
      { exitCode: 28, localAddress: '172.17.0.2', localPort: 40002, text: 'Operation timed out after 2001 milliseconds' },
    ]);
  });

  it('keeps an empty error when curl printed none, and reads a record at the very start', () => {
    assert.deepEqual(parseTrafficOutput(`${MARKER}\t\t0\t28\t\n`, MARKER), [{ exitCode: 28, localAddress: '', localPort: 0, text: '' }]);
  });

  it('takes a record with another marker, as a reply could forge one, as part of the body', () => {
    const output = `nginx 2\n\n@@forged\t10.20.0.12\t1\t0\t\n\n${MARKER}\t172.17.0.2\t40001\t0\t\n`;
    assert.deepEqual(parseTrafficOutput(output, MARKER), [
      { exitCode: 0, localAddress: '172.17.0.2', localPort: 40001, text: 'nginx 2 @@forged 10.20.0.12 1 0' },
    ]);
  });

  it('keeps the first 200 characters of a long body', () => {
    const [sent] = parseTrafficOutput(`${'x'.repeat(500)}\n\n${MARKER}\t172.17.0.2\t40001\t0\t\n`, MARKER);
    assert.equal(sent?.text, 'x'.repeat(200));
  });

  it('counts no request for text after the last record, nor for output without a record', () => {
    assert.equal(parseTrafficOutput(`nginx 1\n\n${MARKER}\t172.17.0.2\t40001\t0\t\nngi`, MARKER).length, 1);
    assert.deepEqual(parseTrafficOutput('nginx 1\n', MARKER), []);
    assert.deepEqual(parseTrafficOutput('', MARKER), []);
  });
});

describe("traffic without a service: round robin on the kernel's real sequences", () => {
  it('passes on the rr sequence, sending the script from the from host and reading the table on the director', async () => {
    const bodies = capturedSequence('rr');
    assert.equal(bodies.length, 10);
    const client = '10.20.0.100';
    const { ctx, calls } = contextFor(fake(agreeing(answeredAll(bodies, () => client))), session);
    const result = await runChecks([traffic(bodies.length, { from: 'client' })], ctx);
    assert.equal(result.passed, true, result.message);
    assert.equal(
      result.message,
      'round robin: 10 requests went to nginx-1 and nginx-2 in turn, 5 each (sequence: nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1)',
    );
    assert.deepEqual(result.details?.counts, { 'nginx-1': 5, 'nginx-2': 5 });
    assert.deepEqual(calls, [
      { host: 'client', script: trafficScript('http://172.17.0.2/', 10, [], markerOf(calls[0]?.script ?? '')) },
      { host: 'director', script: 'cat /proc/net/ip_vs_conn' },
    ]);
  });

  it('fails on the wrr 3:1 sequence, showing it', async () => {
    const bodies = capturedSequence('wrr (weights 3,1)');
    assert.equal(bodies.length, 12);
    const result = await check([traffic(12)], fake(agreeing(answeredAll(bodies))), session);
    assert.equal(result.passed, false);
    assert.ok(result.message.startsWith('nginx-1 answered 9 of 12 requests and nginx-2 only 3'), result.message);
    assert.ok(
      result.message.includes('(sequence: nginx-1 nginx-1 nginx-2 nginx-1 nginx-1 nginx-1 nginx-2 nginx-1 nginx-1 nginx-1 nginx-2 nginx-1)'),
      result.message,
    );
  });

  it('fails on the quiesced sequence: one backend gets everything', async () => {
    const bodies = capturedSequence('rr (weights 3,0 quiesced)');
    const result = await check([traffic(bodies.length)], fake(agreeing(answeredAll(bodies))), session);
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'nginx-1 answered 6 of 6 requests and nginx-2 none: only 1 of the 2 backends is receiving traffic (sequence: nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1)',
    );
  });

  it('says which request failed, how, how many were answered and that the rest were not sent', async () => {
    const requests = [...answeredAll(capturedSequence('rr').slice(0, 2)), failed(28, 'Connection timed out after 2001 milliseconds')];
    const result = await check([traffic(12)], fake(agreeing(requests)), session);
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'request 3 of 12 failed (Connection timed out after 2001 milliseconds) after 2 answered; the other 9 were not sent (sequence before it: nginx-2 nginx-1)',
    );
    assert.deepEqual(result.details, {
      url: 'http://172.17.0.2/',
      requests: 12,
      sent: 3,
      answered: 2,
      sequence: ['nginx-2', 'nginx-1', 'error:Connection timed out after 2001 milliseconds'],
      counts: { 'nginx-1': 1, 'nginx-2': 1 },
    });
  });

  it('says so when the very first request failed', async () => {
    const result = await check([traffic(12)], fake(agreeing([failed(7, 'Failed to connect to 172.17.0.2 port 80 after 0 ms')])), session);
    assert.equal(result.passed, false);
    assert.equal(result.message, 'request 1 of 12 failed (Failed to connect to 172.17.0.2 port 80 after 0 ms); the other 11 were not sent');
    assert.equal(result.details?.sent, 1);
    assert.equal(result.details?.answered, 0);
  });

  it('gives the exit code when curl reported no error', async () => {
    const result = await check([traffic(12)], fake(agreeing([failed(28, '')])), session);
    assert.equal(result.message, 'request 1 of 12 failed (curl exit code 28); the other 11 were not sent');
  });

  it('keeps the message for a body no backend sends when the script stopped after it', async () => {
    const requests = [...answeredAll(['nginx 2', 'nginx 3']), failed(7, 'Failed to connect to 172.17.0.2 port 80')];
    const result = await check([traffic(4)], fake(agreeing(requests)), session);
    assert.equal(
      result.message,
      'request 3 of 4 failed (Failed to connect to 172.17.0.2 port 80) after 2 answered; the last one was not sent. ' +
        'Before that, request 2 was answered by none of the backends (nginx-1, nginx-2): the reply was "nginx 3"',
    );
  });

  it('reports the last request failing as before: nothing was left unsent', async () => {
    const requests = [...answeredAll(['nginx 2', 'nginx 1', 'nginx 2']), failed(7, 'Failed to connect to 172.17.0.2 port 80')];
    const result = await check([traffic(4)], fake(agreeing(requests)), session);
    assert.equal(result.message, 'request 4 failed: Failed to connect to 172.17.0.2 port 80');
    assert.equal(result.details?.sent, 4);
    assert.equal(result.details?.answered, 3);
  });

  it('does not call requests failed when the script itself stopped without a failure, and says how it ended', async () => {
    const requests = answeredAll(capturedSequence('rr').slice(0, 3));
    const { ctx, calls } = contextFor(fake({ traffic: sentAs(requests, { exitCode: 137, stderr: 'Killed\n' }), conn: connFor(requests) }), session);
    const result = await runChecks([traffic(12)], ctx);
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'the traffic script in director stopped after 3 of 12 requests without reporting a failure (exit code 137: Killed), so 9 requests have no result',
    );
    assert.equal(result.details?.sent, 3);
    assert.equal(result.details?.answered, 3);
    assert.equal(result.details?.exitCode, 137);
    assert.equal(calls.length, 1, 'nothing to cross-check');
  });

  it(`says the engine is slow when the ${TRAFFIC_DEADLINE_SECONDS} s ran out (exit ${DEADLINE_EXIT_CODE}) before every request was reported, counting only those`, async () => {
    for (const requests of [answeredAll(['nginx 2', 'nginx 1']), []]) {
      // Request 3 was cut off by timeout after part of its body: it has no record, so it was not sent, nor did it fail.
      const { ctx, calls } = contextFor(
        fake({ traffic: (marker) => ({ exitCode: DEADLINE_EXIT_CODE, stdout: `${scriptOutput(requests, marker)}ngi`, stderr: '' }), conn: connFor(requests) }),
        session,
      );
      const result = await runChecks([traffic(12)], ctx);
      assert.equal(result.passed, false);
      assert.equal(
        result.message,
        `sending the 12 requests took over ${TRAFFIC_DEADLINE_SECONDS} s, so the check stopped after ${requests.length}: ` +
          'the engine is slow or busy right now; press Check again',
      );
      assert.deepEqual(result.details, { url: 'http://172.17.0.2/', requests: 12, sent: requests.length });
      assert.equal(calls.length, 1, 'nothing to cross-check');
    }
  });

  it(`judges the requests as usual when timeout ended the script (exit ${DEADLINE_EXIT_CODE}) after all of them were reported`, async () => {
    const requests = answeredAll(capturedSequence('rr'));
    const result = await check([traffic(10)], fake({ traffic: sentAs(requests, { exitCode: DEADLINE_EXIT_CODE }), conn: connFor(requests) }), session);
    assert.equal(result.passed, true, result.message);
    assert.equal(result.details?.sent, 10);
  });

  it('sends a new marker with every check, and reads only the records with it', async () => {
    const requests = answeredAll(['nginx 2', 'nginx 1', 'nginx 2', 'nginx 1']);
    const markers: string[] = [];
    const world = fake({
      traffic: (marker) => {
        markers.push(marker);
        // A reply that prints a record with the marker of the check before counts for nothing.
        const forged = markers.length > 1 ? record(markers[0]!, answered('nginx 1', 1)) : '';
        return { exitCode: 0, stdout: `${forged}${scriptOutput(requests, marker)}`, stderr: '' };
      },
      conn: connFor(requests),
    });
    assert.equal((await check([traffic(4)], world, session)).passed, true);
    const second = await check([traffic(4)], world, session);
    assert.equal(second.passed, false);
    assert.match(second.message, /^request 1 was answered by none of the backends/);
    assert.equal(second.details?.sent, 4);
    assert.equal(markers.length, 2);
    assert.notEqual(markers[0], markers[1]);
  });

  it('names a body that no backend sends', async () => {
    const result = await check([traffic(4)], fake(agreeing(answeredAll(['nginx 2', 'nginx 1', 'nginx 3', 'nginx 1']))), session);
    assert.equal(result.passed, false);
    assert.equal(result.message, 'request 3 was answered by none of the backends (nginx-1, nginx-2): the reply was "nginx 3"');
  });

  it('matches backend bodies that end in a newline', async () => {
    const backends = { 'nginx-1': 'nginx 1\n', 'nginx-2': 'nginx 2\n' };
    const result = await check([traffic(4, { backends })], fake(agreeing(answeredAll(['nginx 2', 'nginx 1', 'nginx 2', 'nginx 1']))), session);
    assert.equal(result.passed, true, result.message);
  });

  it('says curl is missing when the exec exits 127', async () => {
    for (const stderr of ['', 'sh: 2: curl: not found\n']) {
      const result = await check([traffic(4)], fake({ traffic: { exitCode: 127, stdout: '', stderr } }), session);
      assert.equal(result.passed, false);
      assert.equal(result.message, 'curl is not installed in director, so the traffic cannot be measured.');
    }
  });

  it('fails saying so when the connection table cannot be read', async () => {
    const requests = answeredAll(['nginx 2', 'nginx 1', 'nginx 2', 'nginx 1']);
    const conn = { exitCode: 1, stdout: '', stderr: 'cat: /proc/net/ip_vs_conn: No such file or directory\n' };
    const result = await check([traffic(4)], fake({ traffic: sentAs(requests), conn }), session);
    assert.equal(result.passed, false);
    assert.equal(result.message, 'cannot read the IPVS connection table of director: cat: /proc/net/ip_vs_conn: No such file or directory');
  });
});

describe('traffic cross-checked against the director connection table', () => {
  const alternating = answeredAll(capturedSequence('rr'));

  it('fails replies that alternate perfectly when the kernel has no connection for them: they did not pass through IPVS', async () => {
    const result = await check([traffic(10)], fake({ traffic: sentAs(alternating), conn: connTable([]) }), session);
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      "request 1 (from 172.17.0.2:52450) was answered, but the director's IPVS connection table has no entry for it: " +
        "it did not pass through IPVS, so something else answered in the virtual service's place",
    );
    assert.deepEqual(
      result.details?.sequence,
      capturedSequence('rr').map((b) => b.replace(' ', '-')),
    );
  });

  it('fails the one request the kernel does not know, even when it knows the others', async () => {
    const lines = alternating.filter((_, i) => i !== 4).map((r) => connLine(r.localAddress, r.localPort, ADDRESS_OF_BODY.get(r.text) ?? ''));
    const result = await check([traffic(10)], fake({ traffic: sentAs(alternating), conn: connTable(lines) }), session);
    assert.equal(result.passed, false);
    assert.match(result.message, /^request 5 \(from 172\.17\.0\.2:52458\) was answered, but the director's IPVS connection table has no entry for it/);
  });

  it('fails a reply that names another backend than the one the kernel sent the connection to, naming both', async () => {
    const requests = answeredAll(['nginx 1', 'nginx 2', 'nginx 1', 'nginx 2']);
    const conn = connFor(requests, (r, i) => (i === 0 ? '10.20.0.12' : ADDRESS_OF_BODY.get(r.text)));
    const result = await check([traffic(4)], fake({ traffic: sentAs(requests), conn }), session);
    assert.equal(result.passed, false);
    assert.equal(
      result.message,
      'request 1 was answered "nginx 1" (nginx-1), but IPVS sent it to 10.20.0.12:80 (nginx-2): the reply does not come from where the kernel sent the connection',
    );
  });

  it('takes, of two connections from a reused client port, the one the reply names', async () => {
    // An earlier connection from the port of request 1, still in TIME_WAIT, went to the other backend; it is listed first.
    const first = alternating[0]!;
    const stale = connLine(first.localAddress, first.localPort, '10.20.0.11', 'TIME_WAIT', 3);
    const conn = connFor(alternating).replace(`${CONN_HEADER}\n`, `${CONN_HEADER}\n${stale}\n`);
    assert.equal(parseProcNetIpVsConn(conn).filter((c) => c.client.port === first.localPort).length, 2);
    const result = await check([traffic(10)], fake({ traffic: sentAs(alternating), conn }), session);
    assert.equal(result.passed, true, result.message);
  });

  it('crossCheck: names from the kernel table, failed requests passed through, unknown replies kept', () => {
    const requests = [answered('nginx 2', 40001), answered('<html>', 40002), failed(7, 'refused')];
    const connections = parseProcNetIpVsConn(
      connTable([connLine(DIRECTOR_IP, 40001, '10.20.0.11'), connLine(DIRECTOR_IP, 40001, '10.20.0.12'), connLine(DIRECTOR_IP, 40002, '10.20.0.13')]),
    );
    assert.deepEqual(crossCheck(requests, ['nginx-2', 'unknown:<html>', 'error:refused'], connections, backendIps), {
      names: ['nginx-2', 'unknown:<html>', 'error:refused'],
    });
  });
});

/** A one-service table, TCP 172.17.0.2:80, in /proc/net/ip_vs notation, real servers in the order given. */
function procTable(scheduler: string, servers: readonly { host: string; weight?: number; active?: number; inactive?: number }[]): string {
  return procFromIpvsadm(
    [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      `TCP  ${VIP}:80 ${scheduler}`,
      ...servers.map(
        (s) => `  -> ${backendIps.get(s.host) ?? ''}:80                Masq    ${s.weight ?? 1}      ${s.active ?? 0}          ${s.inactive ?? 0}`,
      ),
    ].join('\n'),
  );
}

describe('traffic with a service: judged on the table before the traffic', () => {
  const withService = (requests: number, scheduler: string, extra: Partial<Omit<TrafficCheck, 'kind'>> = {}) =>
    traffic(requests, { service: 'TCP {{vip}}:80', scheduler, ...extra });

  it('fails on another scheduler before sending anything, with the command to change it', async () => {
    const { ctx, calls } = contextFor(fake({ proc: procFromIpvsadm(kernelFixture('wrr-w311.ipvsadm-Ln.txt')) }), session);
    const result = await runChecks([withService(12, 'lc')], ctx);
    assert.equal(result.passed, false);
    assert.equal(result.message, 'TCP 172.17.0.2:80 uses scheduler wrr; this step measures lc (change it with ipvsadm -E -t 172.17.0.2:80 -s lc).');
    assert.deepEqual(calls, [{ host: 'director', script: 'cat /proc/net/ip_vs' }]);
  });

  it('explains a missing service the way ipvs-service does, before sending anything', async () => {
    const { ctx, calls } = contextFor(fake({ proc: PROC.empty }), session);
    const result = await runChecks([withService(12, 'rr')], ctx);
    assert.equal(result.message, 'There is no virtual service yet: create TCP 172.17.0.2:80 with ipvsadm -A -t 172.17.0.2:80 -s <scheduler>.');
    assert.equal(calls.length, 1);
  });

  it("passes the kernel's rr sequence on the rr-masq table, reading the table, then sending, then the connections", async () => {
    const bodies = capturedSequence('rr');
    const { ctx, calls } = contextFor(fake(agreeing(answeredAll(bodies), { proc: PROC.rrMasq })), session);
    const result = await runChecks([withService(10, 'rr')], ctx);
    assert.equal(result.passed, true, result.message);
    assert.equal(
      result.message,
      "rr: 10 requests went to nginx-2 and nginx-1 in turn, in the kernel's list order, 5 each " +
        '(sequence: nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1)',
    );
    assert.deepEqual(result.details?.servers, [
      { name: 'nginx-2', weight: 1, activeConns: 0, inactiveConns: 5 },
      { name: 'nginx-1', weight: 1, activeConns: 0, inactiveConns: 5 },
    ]);
    const sentScript = calls[1]?.script ?? '';
    assert.deepEqual(calls, [
      { host: 'director', script: 'cat /proc/net/ip_vs' },
      { host: 'director', script: trafficScript('http://172.17.0.2/', 10, [], markerOf(sentScript)) },
      { host: 'director', script: 'cat /proc/net/ip_vs_conn' },
    ]);
  });

  it('passes the quiesced sequence when the table shows the weight 0 that explains it', async () => {
    const bodies = capturedSequence('rr (weights 3,0 quiesced)');
    const result = await check([withService(bodies.length, 'rr')], fake(agreeing(answeredAll(bodies), { proc: rrQuiescedProc })), session);
    assert.equal(result.passed, true, result.message);
    assert.match(result.message, /^rr: all 6 requests went to nginx-1, the only server with weight above 0 \(nginx-2 has weight 0\)/);
  });

  describe('lc, with nginx-1 holding one active connection before the traffic', () => {
    const proc = procTable('lc', [{ host: 'nginx-1', active: 1 }, { host: 'nginx-2' }]);

    it('passes when every request goes to nginx-2', async () => {
      const requests = answeredAll(Array<string>(8).fill('nginx 2'));
      const result = await check([withService(8, 'lc')], fake(agreeing(requests, { proc })), session);
      assert.equal(result.passed, true, result.message);
      assert.match(result.message, /^lc: each of the 8 requests went where lc sends a new connection/);
      assert.deepEqual(result.details?.counts, { 'nginx-1': 0, 'nginx-2': 8 });
    });

    it('fails when the requests alternate', async () => {
      const requests = answeredAll(['nginx 2', 'nginx 1', 'nginx 2', 'nginx 1', 'nginx 2', 'nginx 1', 'nginx 2', 'nginx 1']);
      const result = await check([withService(8, 'lc')], fake(agreeing(requests, { proc })), session);
      assert.equal(result.passed, false);
      assert.equal(
        result.message,
        'request 2 went to nginx-1 (1 active, 0 inactive, weight 1) but lc picks nginx-2 (0 active, 1 inactive, weight 1): ' +
          'lc sends a new connection to the server with the fewest connections, an active one counting as 256 inactive ones ' +
          '(sequence: nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1)',
      );
      assert.deepEqual(result.details?.expected, Array<string>(8).fill('nginx-2'));
    });
  });

  describe('sh on the sh-w311 table (weights 3,1,1)', () => {
    const proc = procFromIpvsadm(kernelFixture('sh-w311.ipvsadm-Ln.txt'));
    const listing = kernelFixture('sh-w311.ipvsadm-Ln.txt');
    const withPort = listing.replace('TCP  172.17.0.2:80 sh', 'TCP  172.17.0.2:80 sh (sh-port)');
    const sh = (requests: number, extra: Partial<Omit<TrafficCheck, 'kind'>> = {}) => withService(requests, 'sh', { backends: THREE_BACKENDS, ...extra });

    it('passes two sources that each stay on one backend', async () => {
      const sources = ['172.17.0.3', '172.17.0.4'];
      const bodies = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? 'nginx 1' : 'nginx 3'));
      const requests = answeredAll(bodies, (i) => sources[i % 2]!);
      const result = await check([sh(12, { sources })], fake(agreeing(requests, { proc, ipvsadm: listing })), session);
      assert.equal(result.passed, true, result.message);
      assert.match(result.message, /^sh: all 6 requests from 172\.17\.0\.3 went to nginx-1 and all 6 requests from 172\.17\.0\.4 went to nginx-3: /);
    });

    it('fails a source that moves to another backend', async () => {
      const sources = ['172.17.0.3', '172.17.0.4'];
      const bodies = ['nginx 1', 'nginx 3', 'nginx 1', 'nginx 3', 'nginx 2', 'nginx 3'];
      const requests = answeredAll(bodies, (i) => sources[i % 2]!);
      const result = await check([sh(6, { sources })], fake(agreeing(requests, { proc, ipvsadm: listing })), session);
      assert.equal(result.passed, false);
      assert.match(result.message, /^requests 1 and 5 came from 172\.17\.0\.3 but went to nginx-1 and nginx-2: /);
    });

    it("the kernel's sh sequence (one client, all on nginx-1) passes without sh-port and fails with it, as ipvsadm -L -n shows the flag", async () => {
      const requests = answeredAll(capturedSequence('sh (weights 3,1,1)'));
      assert.equal(requests.length, 12);
      const { ctx, calls } = contextFor(fake(agreeing(requests, { proc, ipvsadm: listing })), session);
      const plain = await runChecks([sh(12)], ctx);
      assert.equal(plain.passed, true, plain.message);
      assert.ok(calls.some((c) => c.host === 'director' && c.script === 'ipvsadm -L -n'));

      const flagged = await check([sh(12)], fake(agreeing(requests, { proc, ipvsadm: withPort })), session);
      assert.equal(flagged.passed, false);
      assert.match(flagged.message, /^all 12 requests went to nginx-1 although sh-port is set: the port is hashed too/);
    });

    it('reads no flags, and judges sh without sh-port, where ipvsadm is missing', async () => {
      const requests = answeredAll(capturedSequence('sh (weights 3,1,1)'));
      const result = await check([sh(12)], fake(agreeing(requests, { proc })), session);
      assert.equal(result.passed, true, result.message);
    });

    it('does not run ipvsadm for a scheduler without flags', async () => {
      const { ctx, calls } = contextFor(fake(agreeing(answeredAll(capturedSequence('rr')), { proc: PROC.rrMasq, ipvsadm: '' })), session);
      await runChecks([withService(10, 'rr')], ctx);
      assert.ok(!calls.some((c) => c.script.startsWith('ipvsadm')));
    });
  });
});
