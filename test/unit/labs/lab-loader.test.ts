import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { problemsOf } from '../../utils/labs.js';

import { checkedHosts, ipvsHost, shellHost, shellHosts, type Lab } from '../../../server/src/labs/lab.js';
import { formatProblem, LabError, type LabProblem } from '../../../server/src/labs/lab-error.js';
import { loadLab, loadLabs } from '../../../server/src/labs/lab-loader.js';
import { CHECK_KINDS } from '../../../server/src/labs/lab-schema.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fixtures = path.join(repoRoot, 'test', 'fixtures', 'labs');
const options = { containersDir: path.join(repoRoot, 'containers'), relativeTo: repoRoot };

const scratch = mkdtempSync(path.join(tmpdir(), 'ipvs-lab-loader-'));
after(() => rmSync(scratch, { recursive: true, force: true }));


/** The one problem of a fixture lab, in `test/fixtures/labs/<name>/`. */
function onlyProblem(name: string): LabProblem {
  const problems = problemsOf(path.join(fixtures, name));
  assert.equal(problems.length, 1, `expected one problem, got:\n${problems.map(formatProblem).join('\n')}`);
  return problems[0]!;
}

const labYaml = (name: string) => `test/fixtures/labs/${name}/lab.yaml`;

describe('loadLab: the real ipvs-intro lab', () => {
  const lab = loadLab(path.join(repoRoot, 'labs', 'ipvs-intro'), options);

  it('reads title, summary and id', () => {
    assert.equal(lab.id, 'ipvs-intro');
    assert.equal(lab.dir, path.join(repoRoot, 'labs', 'ipvs-intro'));
    assert.equal(lab.title, 'IPVS: your first virtual service');
    assert.match(lab.summary, /^Install ipvsadm, turn a container into a round-robin load balancer/);
    assert.ok(!lab.summary.includes('\n'), 'folded summary has no line breaks');
  });

  it('reads the hosts, with the one shell host', () => {
    assert.deepEqual(
      lab.hosts.map((h) => h.name),
      ['host', 'nginx-1', 'nginx-2'],
    );
    const shell = shellHost(lab);
    assert.equal(shell.name, 'host');
    assert.deepEqual(shell.image, { build: 'host' });
    assert.deepEqual(shell.capabilities, ['NET_ADMIN']);
    const nginx1 = lab.hosts[1]!;
    assert.deepEqual(nginx1.image, { ref: 'nginx:1.23.2' });
    assert.equal(nginx1.shell, false);
    assert.deepEqual(nginx1.capabilities, []);
    assert.deepEqual(nginx1.files, { '/usr/share/nginx/html/index.html': 'nginx 1\n' });
    assert.equal(nginx1.command, undefined);
  });

  it('keeps the lab variables as templates over host variables', () => {
    assert.deepEqual(lab.variables, { vip: '{{host.ip}}' });
  });

  it('reads the steps in order, with their markdown', () => {
    assert.deepEqual(
      lab.steps.map((s) => s.id),
      ['intro', 'install', 'backends', 'service', 'real-servers', 'traffic', 'challenge', 'done'],
    );
    const service = lab.steps[3]!;
    assert.equal(service.title, 'Create the virtual service');
    assert.equal(service.file, 'steps/04-service.md');
    assert.match(service.markdown, /^# Create the virtual service\n/);
    assert.ok(service.markdown.includes('ipvsadm -A -t {{vip}}:80 -s rr'));
  });

  it('reads every check with its kind, defaults filled', () => {
    assert.deepEqual(
      lab.steps.map((s) => s.checks.map((c) => c.kind)),
      [[], ['file', 'command'], [], ['ipvs-service'], ['ipvs-service', 'ipvs-real-servers'], ['ipvs-real-servers', 'traffic'], ['ipvs-real-servers', 'traffic'], []],
    );
    assert.deepEqual(lab.steps[3]!.checks[0], { kind: 'ipvs-service', host: 'host', service: 'TCP {{vip}}:80', scheduler: 'rr' });
    assert.deepEqual(lab.steps[4]!.checks[1], {
      kind: 'ipvs-real-servers',
      host: 'host',
      service: 'TCP {{vip}}:80',
      servers: ['{{nginx-1.ip}}:80', '{{nginx-2.ip}}:80'],
      forward: 'Masq',
    });
    // round-robin-traffic is read as a traffic check of rr, from and on the director, with no service to read.
    assert.deepEqual(lab.steps[5]!.checks[1], {
      kind: 'traffic',
      host: 'host',
      from: 'host',
      scheduler: 'rr',
      url: 'http://{{vip}}/',
      requests: 12,
      backends: { 'nginx-1': 'nginx 1', 'nginx-2': 'nginx 2' },
      sources: [],
    });
    assert.deepEqual(lab.steps[6]!.checks[1], {
      kind: 'traffic',
      host: 'host',
      from: 'host',
      service: 'TCP {{vip}}:80',
      scheduler: 'rr',
      url: 'http://{{vip}}/',
      requests: 8,
      backends: { 'nginx-1': 'nginx 1', 'nginx-2': 'nginx 2' },
      sources: [],
    });
    assert.deepEqual(lab.steps[1]!.checks[0], {
      kind: 'file',
      host: 'host',
      path: '/usr/sbin/ipvsadm',
      executable: true,
      failMessage: 'ipvsadm is not installed yet: run apt-get install -y ipvsadm in the terminal',
      passMessage: 'ipvsadm is installed',
    });
  });

  it('reads the solution lines', () => {
    // A plain line goes to the main terminal.
    const onHost = (command: string) => ({ host: 'host', command });
    assert.deepEqual(lab.steps[1]!.solution, [onHost('apt-get install -y ipvsadm'), onHost('ipvsadm -v')]);
    assert.deepEqual(lab.steps[4]!.solution, [
      onHost('ipvsadm -a -t {{vip}}:80 -r {{nginx-1.ip}}:80 -m'),
      onHost('ipvsadm -a -t {{vip}}:80 -r {{nginx-2.ip}}:80 -m'),
      onHost('ipvsadm -L -n'),
    ]);
    assert.deepEqual(lab.steps[0]!.solution, []);
  });
});

describe('loadLab: several terminals', () => {
  const dir = path.join(fixtures, 'solution-host-without-terminal');
  const fixed = () => {
    const scratchDir = mkdtempSync(path.join(tmpdir(), 'ipvs-lab-terminals-'));
    cpSync(dir, scratchDir, { recursive: true });
    const yamlFile = path.join(scratchDir, 'lab.yaml');
    writeFileSync(yamlFile, readFileSync(yamlFile, 'utf8').replace('      - { host: web-1, run: echo nowhere }\n', ''));
    return scratchDir;
  };

  it('gives a terminal to every shell host, the first one the main one, and sends solution lines to theirs', () => {
    const scratchDir = fixed();
    try {
      const lab = loadLab(scratchDir, options);
      assert.deepEqual(
        shellHosts(lab).map((h) => h.name),
        ['director', 'client'],
      );
      assert.equal(shellHost(lab).name, 'director');
      assert.deepEqual(lab.steps[0]!.solution, [
        { host: 'director', command: 'echo on the director' },
        { host: 'client', command: 'echo on the client' },
      ]);
      // The command block for web-1, which has no terminal, is a lint: Run could not type it anywhere.
      assert.deepEqual(
        lab.lint.map((p) => p.message),
        ['command block for web-1, which has no terminal; terminals: director, client', 'no minutes: say about how long the lab takes, so the list of labs can show it'],
      );
    } finally {
      rmSync(scratchDir, { recursive: true, force: true });
    }
  });
});

describe('loadLab: a good fixture', () => {
  it('loads, with the default passMessage of a command check', () => {
    const lab = loadLab(path.join(fixtures, 'good'), options);
    assert.equal(lab.id, 'good');
    assert.equal(shellHost(lab).name, 'director');
    assert.deepEqual(lab.steps[1]!.checks[0], { kind: 'command', host: 'director', run: 'command -v ipvsadm', failMessage: 'install ipvsadm first', passMessage: '`command -v ipvsadm` succeeded' });
    // Every kind of lab.yaml is there; round-robin-traffic is read as a traffic check.
    assert.deepEqual(
      lab.steps[1]!.checks.map((c) => c.kind),
      CHECK_KINDS.map((k) => (k === 'round-robin-traffic' ? 'traffic' : k)),
    );
    assert.deepEqual(lab.steps[1]!.checks[4], {
      kind: 'traffic',
      host: 'director',
      from: 'director',
      service: 'TCP {{vip}}:80',
      scheduler: 'sh',
      url: 'http://{{vip}}/',
      requests: 6,
      backends: { 'web-1': 'web 1', 'web-2': 'web 2' },
      sources: ['{{director.ip}}', '{{spare.1}}'],
    });
    assert.deepEqual(lab.steps[1]!.checks[5], { kind: 'ipvs-replies', host: 'director', service: 'TCP {{vip}}:80', replies: 'director' });
    assert.deepEqual(lab.steps[1]!.checks[6], {
      kind: 'results-file',
      host: 'director',
      path: '/root/results',
      require: ['mode=ipvs n=100'],
      failMessage: 'run the measurement first',
      chart: { title: 'Adding one service', x: 'n', series: 'mode', y: 'add_ms', xLabel: 'services', yLabel: 'ms' },
    });
    assert.deepEqual(lab.steps[1]!.checks[7], {
      kind: 'file',
      host: 'director',
      path: '/usr/sbin/ipvsadm',
      executable: true,
      failMessage: 'install ipvsadm first',
      passMessage: '/usr/sbin/ipvsadm exists in director',
    });
  });

  it('reads the network, per-host limits and sysctls, and which hosts checks read', () => {
    const lab = loadLab(path.join(fixtures, 'good'), options);
    assert.equal(lab.outside, true);
    const director = shellHost(lab);
    assert.deepEqual(director.limits, { memoryMib: 512, pids: 300, cpus: 1.5 });
    assert.deepEqual(director.sysctls, { 'net.ipv4.vs.conntrack': '1' });
    assert.deepEqual(lab.hosts[1]!.limits, {});
    assert.deepEqual([...checkedHosts(lab)], ['director']);
    const intro = loadLab(path.join(repoRoot, 'labs', 'ipvs-intro'), options);
    assert.equal(intro.outside, false, 'a lab without network: outside stays off the internet');
  });

  it('needs the Dockerfile of a build context: none in an empty containers folder', () => {
    const empty = path.join(scratch, 'empty-containers');
    mkdirSync(empty);
    const problems = problemsOf(path.join(fixtures, 'good'), { containersDir: empty, relativeTo: scratch });
    assert.deepEqual(problems, [
      {
        file: path.relative(scratch, path.join(fixtures, 'good', 'lab.yaml')),
        line: 6,
        field: 'hosts.director.image.build',
        message: 'no Dockerfile at empty-containers/host/Dockerfile',
      },
    ]);
  });
});

describe('loadLab: broken labs name file, line and field', () => {
  it('a YAML syntax error, at the line of the bad indentation', () => {
    const [first, ...rest] = problemsOf(path.join(fixtures, 'yaml-syntax'));
    assert.deepEqual(first, { file: labYaml('yaml-syntax'), line: 6, field: '', message: 'YAML syntax: All mapping items must start at the same column' });
    assert.ok(rest.every((p) => p.message.startsWith('YAML syntax:')));
  });

  it('a key given twice, at the second one', () => {
    assert.deepEqual(onlyProblem('duplicate-key'), { file: labYaml('duplicate-key'), line: 7, field: '', message: 'YAML syntax: Map keys must be unique' });
  });

  it('a missing required field', () => {
    assert.deepEqual(onlyProblem('missing-title'), { file: labYaml('missing-title'), line: 1, field: '', message: 'missing required field title' });
  });

  it('an unknown field', () => {
    assert.deepEqual(onlyProblem('unknown-field'), { file: labYaml('unknown-field'), line: 7, field: 'hosts.director.capabilites', message: 'unknown field capabilites' });
  });

  it('an unknown check kind, listing the kinds there are', () => {
    const p = onlyProblem('unknown-check-kind');
    assert.equal(p.file, labYaml('unknown-check-kind'));
    assert.equal(p.field, 'steps[0].checks[0].ipvs-servce');
    assert.equal(p.message, 'unknown check kind ipvs-servce; use one of: command, ipvs-service, ipvs-real-servers, round-robin-traffic, traffic, ipvs-replies, results-file, file');
  });

  // See the report: the line of a field whose value is a block is taken from the value, one line
  // below the key (lab-loader.ts lineOfPath).
  it('an unknown check kind, at the line of its key', () => {
    assert.equal(onlyProblem('unknown-check-kind').line, 12);
  });

  it('a check entry holding two kinds', () => {
    assert.deepEqual(onlyProblem('two-check-kinds-in-one-entry'), {
      file: labYaml('two-check-kinds-in-one-entry'),
      line: 12,
      field: 'steps[0].checks[0]',
      message: 'each check is an object with exactly one key, the check kind',
    });
  });

  it('a scheduler IPVS does not have, listing the ones it has', () => {
    const p = onlyProblem('bad-scheduler');
    assert.deepEqual({ ...p, message: '' }, { file: labYaml('bad-scheduler'), line: 15, field: 'steps[0].checks[0].ipvs-service.scheduler', message: '' });
    assert.equal(p.message, '"roundrobin" is not allowed; use one of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos');
  });

  it('a check in a host the lab does not define', () => {
    assert.deepEqual(onlyProblem('undefined-host'), {
      file: labYaml('undefined-host'),
      line: 15,
      field: 'steps[0].checks[0].ipvs-service.host',
      message: 'host web-3 is not defined in hosts (director, web-1)',
    });
  });

  it('a missing step file', () => {
    assert.deepEqual(onlyProblem('missing-step-file'), {
      file: labYaml('missing-step-file'),
      line: 13,
      field: 'steps[1].file',
      message: 'step file test/fixtures/labs/missing-step-file/steps/two.md does not exist',
    });
  });

  it('a step file outside the lab folder', () => {
    assert.deepEqual(onlyProblem('step-outside-folder'), {
      file: labYaml('step-outside-folder'),
      line: 10,
      field: 'steps[0].file',
      message: '../good/steps/look.md is outside the lab folder',
    });
  });

  it('a step id used twice, at the second use', () => {
    assert.deepEqual(onlyProblem('duplicate-step-id'), { file: labYaml('duplicate-step-id'), line: 14, field: 'steps[2].id', message: 'step id one is used twice (also step 1)' });
  });

  it('an unknown variable in a step file, at its line in the markdown', () => {
    assert.deepEqual(onlyProblem('unknown-variable-in-markdown'), {
      file: 'test/fixtures/labs/unknown-variable-in-markdown/steps/one.md',
      line: 6,
      field: '',
      message: 'unknown variable {{web-2.ip}}; known: director.ip, net.prefix, spare.1, spare.2, spare.3, spare.4, vip, web-1.ip',
    });
  });

  it('unknown variables in a check and in a solution line, both reported', () => {
    assert.deepEqual(problemsOf(path.join(fixtures, 'unknown-variable-in-check')), [
      { file: labYaml('unknown-variable-in-check'), line: 14, field: 'steps[0].checks[0]', message: 'unknown variable {{vipp}}; known: director.ip, net.prefix, spare.1, spare.2, spare.3, spare.4, vip' },
      { file: labYaml('unknown-variable-in-check'), line: 19, field: 'steps[0].solution[1]', message: 'unknown variable {{nope}}; known: director.ip, net.prefix, spare.1, spare.2, spare.3, spare.4, vip' },
    ]);
  });

  it('no shell host', () => {
    const p = onlyProblem('no-shell-host');
    assert.equal(p.file, labYaml('no-shell-host'));
    assert.equal(p.field, 'hosts');
    assert.equal(p.message, "at least one host needs shell: true (the learner's terminal); found none");
  });

  it('a solution line for a host without a terminal, at its line', () => {
    const p = onlyProblem('solution-host-without-terminal');
    assert.equal(p.file, labYaml('solution-host-without-terminal'));
    assert.equal(p.line, 21);
    assert.equal(p.field, 'steps[0].solution[2].host');
    assert.equal(p.message, 'host web-1 has no terminal (shell: true): solution lines go to director, client');
  });

  it('a shell-host problem, at the line of hosts:', () => {
    assert.equal(onlyProblem('no-shell-host').line, 3);
  });

  it('a build context without a Dockerfile, under the repository containers folder', () => {
    assert.deepEqual(onlyProblem('missing-dockerfile'), {
      file: labYaml('missing-dockerfile'),
      line: 8,
      field: 'hosts.client.image.build',
      message: 'no Dockerfile at containers/no-such-context/Dockerfile',
    });
  });

  it('too few requests to show round robin over the backends', () => {
    assert.deepEqual(onlyProblem('too-few-requests'), {
      file: labYaml('too-few-requests'),
      line: 21,
      field: 'steps[0].checks[0].round-robin-traffic.requests',
      message: '5 requests cannot show round robin over 3 backends; use at least 6',
    });
  });

  it('a folder without lab.yaml, about the file as a whole', () => {
    const dir = path.join(scratch, 'no-yaml');
    mkdirSync(dir);
    assert.deepEqual(problemsOf(dir, { ...options, relativeTo: scratch }), [{ file: 'no-yaml/lab.yaml', line: 0, field: '', message: 'no lab.yaml here: every lab folder needs one' }]);
  });

  it('puts every problem in the LabError message, one per line', () => {
    try {
      loadLab(path.join(fixtures, 'unknown-variable-in-check'), options);
      assert.fail('should not load');
    } catch (e) {
      assert.ok(e instanceof LabError);
      assert.equal(e.name, 'LabError');
      assert.equal(
        e.message,
        `${labYaml('unknown-variable-in-check')}:14: steps[0].checks[0]: unknown variable {{vipp}}; known: director.ip, net.prefix, spare.1, spare.2, spare.3, spare.4, vip\n` +
          `${labYaml('unknown-variable-in-check')}:19: steps[0].solution[1]: unknown variable {{nope}}; known: director.ip, net.prefix, spare.1, spare.2, spare.3, spare.4, vip`,
      );
    }
  });
});

describe('loadLabs', () => {
  it('returns the good lab and the error of the broken one', () => {
    const dir = path.join(scratch, 'two-labs');
    mkdirSync(dir);
    cpSync(path.join(fixtures, 'good'), path.join(dir, 'a-good'), { recursive: true });
    cpSync(path.join(fixtures, 'bad-scheduler'), path.join(dir, 'b-broken'), { recursive: true });
    const { labs, errors } = loadLabs(dir, { ...options, relativeTo: dir });
    assert.deepEqual(
      labs.map((l) => l.id),
      ['a-good'],
    );
    assert.equal(errors.length, 1);
    assert.deepEqual(
      errors[0]!.problems.map((p) => `${p.file}:${p.line}:${p.field}`),
      ['b-broken/lab.yaml:15:steps[0].checks[0].ipvs-service.scheduler'],
    );
  });

  it('loads every fixture: the loadable ones (good, and the labs broken only at run time), an error for each broken one', () => {
    const { labs, errors } = loadLabs(fixtures, options);
    assert.deepEqual(
      labs.map((l) => l.id),
      // challenge-good says order: 3; the others keep the default order, by id.
      ['challenge-good', 'check-always-passes', 'good', 'slow-solution', 'solution-does-not-satisfy-check'],
    );
    const broken = errors.map((e) => e.problems[0]!.file.split('/')[3]);
    assert.ok(broken.includes('yaml-syntax') && broken.includes('too-few-requests') && broken.includes('bad-scheduler'), broken.join(', '));
    assert.equal(errors.length, broken.length);
  });

  it('reports a labs folder that does not exist', () => {
    const missing = path.join(scratch, 'nope');
    const { labs, errors } = loadLabs(missing, options);
    assert.deepEqual(labs, []);
    assert.deepEqual(errors[0]?.problems, [{ file: missing, line: 0, field: '', message: 'labs folder does not exist' }]);
  });
});

describe('formatProblem', () => {
  it('writes file:line: field: message', () => {
    assert.equal(formatProblem({ file: 'labs/x/lab.yaml', line: 12, field: 'steps[0].id', message: 'bad' }), 'labs/x/lab.yaml:12: steps[0].id: bad');
  });

  it('leaves out the line when it is 0 and the field when it is empty', () => {
    assert.equal(formatProblem({ file: 'labs/x/lab.yaml', line: 0, field: '', message: 'no lab.yaml here' }), 'labs/x/lab.yaml: no lab.yaml here');
    assert.equal(formatProblem({ file: 'labs/x/steps/a.md', line: 3, field: '', message: 'unknown variable' }), 'labs/x/steps/a.md:3: unknown variable');
    assert.equal(formatProblem({ file: 'f', line: 0, field: 'hosts', message: 'm' }), 'f: hosts: m');
  });
});

describe('loadLab: addresses in checks', () => {
  it('reports a service without a port and a server port out of range, at their lines', () => {
    const problems = problemsOf(path.join(fixtures, 'malformed-service'));
    assert.deepEqual(
      problems.map((p) => `${p.line} ${p.field}`),
      ['35 steps[1].checks[1].ipvs-service.service', '40 steps[1].checks[2].ipvs-real-servers.servers[1]'],
    );
    assert.match(problems[0]!.message, /service "TCP <address>" is not of the form "TCP 10.0.0.1:80"/);
    assert.match(problems[1]!.message, /has port 99999, outside 0-65535/);
  });
});

describe('ipvsHost: the director whose table the IPVS panel shows', () => {
  it('is the host the IPVS checks read in every lab of labs/', () => {
    const { labs, errors } = loadLabs(path.join(repoRoot, 'labs'), options);
    assert.deepEqual(errors, []);
    assert.deepEqual(Object.fromEntries(labs.map((l) => [l.id, ipvsHost(l)])), {
      'ipvs-intro': 'host',
      'ipvs-schedulers': 'host',
      'ipvs-forwarding': 'director',
      'ipvs-vs-iptables': 'node',
      'kube-proxy-ipvs': 'node',
    });
    for (const lab of labs) assert.ok(checkedHosts(lab).has(ipvsHost(lab)!), `${lab.id}: the director has a checker beside it`);
  });

  it('takes the host read most, the first in lab order on a tie, else the first that may program IPVS', () => {
    const lab = loadLab(path.join(repoRoot, 'labs', 'ipvs-intro'), options);
    const step = lab.steps[0]!;
    const reading = (host: string) => ({ kind: 'ipvs-service', host, service: 'TCP 10.0.0.1:80' }) as const;
    const withChecks = (...checks: ReturnType<typeof reading>[]): Lab => ({ ...lab, steps: [{ ...step, checks }] });
    assert.equal(ipvsHost(withChecks(reading('nginx-2'), reading('nginx-1'), reading('nginx-2'))), 'nginx-2');
    assert.equal(ipvsHost(withChecks(reading('nginx-2'), reading('nginx-1'))), 'nginx-1');
    assert.equal(ipvsHost(withChecks()), 'host', 'no IPVS check: the host with NET_ADMIN');
    assert.equal(ipvsHost({ ...withChecks(), hosts: lab.hosts.filter((h) => !h.capabilities.includes('NET_ADMIN')) }), undefined);
  });
});
