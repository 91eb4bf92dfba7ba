import type { CheckResult } from '../../../common/api.js';
import type { FileCheck } from '../labs/lab.js';
import { fail, pass, type CheckContext } from './check-context.js';

/**
 * Passes when the path exists in the host (and is executable, if the check asks). The engine
 * stats the container's filesystem itself, so no program of the learner's runs to answer.
 */
export async function runFileCheck(check: FileCheck, ctx: CheckContext): Promise<CheckResult> {
  const info = await ctx.statPath(check.host, check.path);
  const details = { host: check.host, path: check.path, ...(info ? { mode: info.mode.toString(8), size: info.size } : { exists: false }) };
  if (!info || info.isDirectory) return fail(check.failMessage, details);
  // A symbolic link is judged by the engine's own answer: it reports the link, not its target.
  if (check.executable && !info.linkTarget && (info.mode & 0o111) === 0) return fail(check.failMessage, details);
  return pass(check.passMessage, details);
}
