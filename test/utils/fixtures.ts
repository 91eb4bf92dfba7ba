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
