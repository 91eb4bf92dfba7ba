/**
 * `ipvs-lab test --all` completes every lab from a clean start on an engine with IPVS, the way CI
 * proves that the labs still work. Skipped without IPVS, except in CI.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runCli } from '../utils/cli.js';
import { countSessionContainers, engineSkipReason, ipvsSkipReason } from '../utils/engine.js';

// The CLI's own preflight decides whether the engine has IPVS: without it, it exits 2 at once.
const noEngine = await engineSkipReason();
const run = noEngine ? undefined : runCli(['test', '--all']);
const code = await run?.exit;
const output = run?.output() ?? '';
const skip = noEngine || ipvsSkipReason(!(code === 2 && /has no IPVS/.test(output)));

it('ipvs-lab test --all passes every lab on real IPVS, step by step, and leaves nothing behind', { skip }, async () => {
  assert.equal(code, 0, output);
  for (const step of ['install', 'service', 'real-servers', 'traffic', 'challenge']) assert.match(output, new RegExp(`PASS ipvs-intro/${step} `));
  // Every scheduler's traffic check, on the real kernel, after its solution and not before.
  for (const step of ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'dh', 'mh', 'challenge']) assert.match(output, new RegExp(`PASS ipvs-schedulers/${step} `));
  assert.match(output, /^PASS ipvs-intro in /m);
  assert.match(output, /^PASS ipvs-schedulers in /m);
  assert.match(output, /^2 passed, 0 failed/m);
  for (const [, id] of output.matchAll(/session ([0-9a-f]+) ready/g)) assert.equal(await countSessionContainers(id!), 0);
});
