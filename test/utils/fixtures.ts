import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/src/config.js';

/** The real kernel captures. CI clones the repository as <dir>/main with shared/ beside it. */
const IPVS_FIXTURES = path.join(PROJECT_ROOT, '..', 'shared', 'fixtures', 'ipvs');

/** A capture under shared/fixtures/ipvs, e.g. `two-services-rr-masq.ipvsadm-Ln.txt`. */
export function fixture(name: string): string {
  return readFileSync(path.join(IPVS_FIXTURES, name), 'utf8');
}

/** A capture under shared/fixtures/ipvs/kernel-6.1. */
export function kernelFixture(name: string): string {
  return fixture(path.join('kernel-6.1', name));
}
