import assert from 'node:assert/strict';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/src/config.js';
import { LabError, type LabProblem } from '../../server/src/labs/lab-error.js';
import { loadLab, type LoadOptions } from '../../server/src/labs/lab-loader.js';

/** How the loader tests read labs: images from the repository's containers/, paths relative to it. */
export const labOptions: LoadOptions = { containersDir: path.join(PROJECT_ROOT, 'containers'), relativeTo: PROJECT_ROOT };

/** The problems of a lab that must fail to load; fails the test if it loads. */
export function problemsOf(dir: string, opts: LoadOptions = labOptions): readonly LabProblem[] {
  try {
    loadLab(dir, opts);
  } catch (e) {
    if (e instanceof LabError) return e.problems;
    throw e;
  }
  assert.fail(`${dir} loaded, but it should not`);
}
