/**
 * `ipvs-lab test --all` completes every lab from a clean start on an engine with IPVS, the way CI
 * proves that the labs still work. Skipped without IPVS, except in CI.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { PROJECT_ROOT } from '../../server/src/config.js';
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
  // Every lab in labs/, each of its steps passing after its solution and not before.
  const labs = readdirSync(path.join(PROJECT_ROOT, 'labs'), { withFileTypes: true }).filter((e) => e.isDirectory());
  for (const lab of labs) assert.match(output, new RegExp(`^PASS ${lab.name} in `, 'm'));
  assert.match(output, new RegExp(`^${labs.length} passed, 0 failed`, 'm'));
  assert.doesNotMatch(output, /^\s+(FAIL|SKIP) /m);
  for (const step of ['install', 'service', 'real-servers', 'traffic', 'challenge']) assert.match(output, new RegExp(`PASS ipvs-intro/${step} `));
  // Every scheduler's traffic check, and every forwarding method, on the real kernel.
  for (const step of ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'dh', 'mh', 'challenge']) assert.match(output, new RegExp(`PASS ipvs-schedulers/${step} `));
  for (const step of ['nat-return', 'dr', 'tun', 'challenge']) assert.match(output, new RegExp(`PASS ipvs-forwarding/${step} `));
  for (const [, id] of output.matchAll(/session ([0-9a-f]+) ready/g)) assert.equal(await countSessionContainers(id!), 0);
});
