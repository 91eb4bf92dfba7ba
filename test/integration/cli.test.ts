/**
 * `ipvs-lab validate` and `ipvs-lab test` as a lab author or CI runs them, on the broken labs in
 * test/fixtures/labs: each must fail, with the right message. These labs need no IPVS, so this
 * file runs on any engine.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../utils/cli.js';
import { countSessionContainers, engineSkipReason } from '../utils/engine.js';

const fixture = (name: string) => `test/fixtures/labs/${name}`;
const noIpvs = { IPVS_LAB_REQUIRE_IPVS: 'false' };

describe('ipvs-lab validate', () => {
  it('passes every lab under labs/', async () => {
    const run = runCli(['validate', '--all']);
    assert.equal(await run.exit, 0, run.output());
    assert.match(run.output(), /^ok {2}labs\/ipvs-intro: 8 steps$/m);
  });

  const broken: [string, RegExp][] = [
    ['yaml-syntax', /^test\/fixtures\/labs\/yaml-syntax\/lab\.yaml:\d+: YAML syntax: /m],
    [
      'missing-step-file',
      /^test\/fixtures\/labs\/missing-step-file\/lab\.yaml:13: steps\[1\]\.file: step file test\/fixtures\/labs\/missing-step-file\/steps\/two\.md does not exist$/m,
    ],
    ['undefined-host', /lab\.yaml:\d+: steps\[\d\]\.checks\[0\]\.[a-z-]+\.(host|from): host \S+ is not defined in hosts/m],
    ['unknown-variable-in-markdown', /\.md:\d+: unknown variable \{\{/m],
  ];
  for (const [name, expected] of broken) {
    it(`fails on ${name} with file:line and the problem`, async () => {
      const run = runCli(['validate', fixture(name)]);
      assert.equal(await run.exit, 1, run.output());
      assert.match(run.output(), expected);
    });
  }

  it('fails on a step that changes state without a check (lint), and reports every lab given', async () => {
    const run = runCli(['validate', fixture('good'), fixture('missing-title')]);
    assert.equal(await run.exit, 1);
    assert.match(run.output(), /good\/lab\.yaml:28: steps\[0\]: step look has no check/);
    assert.match(run.output(), /missing-title\/lab\.yaml:1: missing required field title/);
  });

  it('explains bad usage with exit status 2', async () => {
    const run = runCli(['validate']);
    assert.equal(await run.exit, 2);
    assert.match(run.output(), /name at least one lab folder \(or --all\)/);
    const help = runCli(['--help']);
    assert.equal(await help.exit, 0);
    assert.match(help.output(), /ipvs-lab test \[--junit FILE\] \[--keep\]/);
  });
});

describe('ipvs-lab test', { skip: await engineSkipReason() }, () => {
  it('fails a lab whose check passes before the solution, and one whose solution does not satisfy its check; writes JUnit; removes the containers', async () => {
    const junit = path.join(tmpdir(), `ipvs-lab-junit-${process.pid}.xml`);
    const run = runCli(['test', '--junit', junit, fixture('check-always-passes'), fixture('solution-does-not-satisfy-check')], noIpvs);
    const code = await run.exit;
    const out = run.output();
    assert.equal(code, 1, out);
    assert.match(out, /FAIL check-always-passes\/make-file .*\n +the check passed BEFORE the solution ran/);
    assert.match(out, /PASS solution-does-not-satisfy-check\/first/);
    assert.match(out, /FAIL solution-does-not-satisfy-check\/make-file .*\n +the check failed after the solution ran: \/tmp\/wanted does not exist/);
    assert.match(out, /SKIP solution-does-not-satisfy-check\/later/);
    assert.match(out, /^0 passed, 2 failed/m);
    const xml = readFileSync(junit, 'utf8');
    rmSync(junit);
    assert.match(xml, /<testsuites name="ipvs-lab" tests="4" failures="2"/);
    assert.match(
      xml,
      /<testcase classname="solution-does-not-satisfy-check" name="later: A step after the broken one" time="[\d.]+">\n +<skipped message="an earlier step failed"\/>/,
    );
    for (const id of out.matchAll(/session ([0-9a-f]+) ready/g)) assert.equal(await countSessionContainers(id[1]!), 0, `session ${id[1]} left containers`);
  });

  it('does not start anything for a lab that does not load', async () => {
    const run = runCli(['test', fixture('missing-step-file')], noIpvs);
    assert.equal(await run.exit, 1);
    assert.match(run.output(), /does not exist\nthe labs above do not load; nothing was started/);
  });

  it('removes the containers when interrupted with Ctrl-C', async () => {
    const run = runCli(['test', fixture('slow-solution')], noIpvs);
    const [, id] = await run.waitForOutput(/session ([0-9a-f]+) ready/);
    assert.equal(await countSessionContainers(id!), 1);
    await new Promise((r) => setTimeout(r, 1000)); // into the solution's sleep
    run.child.kill('SIGINT');
    assert.equal(await run.exit, 130, run.output());
    assert.match(run.output(), /interrupted: removing the test sessions' containers/);
    assert.equal(await countSessionContainers(id!), 0);
  });

  it('--keep leaves the containers and says how to attach and remove them', async () => {
    const run = runCli(['test', '--keep', fixture('check-always-passes')], noIpvs);
    assert.equal(await run.exit, 1);
    const [, id] = run.output().match(/session ([0-9a-f]+) ready/)!;
    assert.equal(await countSessionContainers(id!), 2, 'the host and the checker its command check ran in');
    const remove = run.output().match(/ {2}remove: (.*)$/m)?.[1];
    assert.ok(remove, run.output());
    assert.match(run.output(), new RegExp(`shell: .*docker exec -it ipvs-lab-cli-[0-9a-f]+-${id}-host bash`));
    const { execSync } = await import('node:child_process');
    execSync(remove, { stdio: 'ignore', shell: '/bin/bash' });
    assert.equal(await countSessionContainers(id!), 0);
  });
});
