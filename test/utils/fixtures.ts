import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/src/config.js';

/** The real kernel captures, kept in the repository so a clone runs its unit tests on its own. */
const IPVS_FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'ipvs');

/** A capture under test/fixtures/ipvs, e.g. `two-services-rr-masq.ipvsadm-Ln.txt`. */
export function fixture(name: string): string {
  return readFileSync(path.join(IPVS_FIXTURES, name), 'utf8');
}

/** A capture under test/fixtures/ipvs/kernel-6.1. */
export function kernelFixture(name: string): string {
  return fixture(path.join('kernel-6.1', name));
}

/**
 * The kernel's captured scheduler sequences (`scheduler-sequences.txt`), by label: `rr` →
 * `['nginx-2', 'nginx-1', …]`, with each `nginx N` body named as its backend `nginx-N`.
 */
const schedulerSequences = new Map(
  kernelFixture('scheduler-sequences.txt')
    .split('\n')
    .filter((line) => line.includes(':'))
    .map((line) => {
      const [label = '', answers = ''] = line.split(':');
      return [label.trim(), [...answers.matchAll(/nginx (\d+)/g)].map((m) => `nginx-${m[1] ?? ''}`)] as const;
    }),
);

/** One captured sequence by its label (`wrr (weights 3,1)`); fails the test when there is none. */
export function capturedSchedule(label: string): string[] {
  const sequence = schedulerSequences.get(label);
  if (sequence === undefined || sequence.length === 0) throw new Error(`no sequence "${label}" in scheduler-sequences.txt`);
  return [...sequence];
}
