import type { CheckResult } from '../../../common/api.js';
import type { CommandCheck } from '../labs/lab.js';
import { fail, pass, type CheckContext } from './check-context.js';

/** Passes when the command exits 0 in the host. The lab author writes both messages. */
export async function runCommandCheck(check: CommandCheck, ctx: CheckContext): Promise<CheckResult> {
  const result = await ctx.exec(check.host, check.run);
  const details = { host: check.host, command: check.run, exitCode: result.exitCode, output: (result.stdout + result.stderr).trim().slice(0, 2000) };
  return result.exitCode === 0 ? pass(check.passMessage, details) : fail(check.failMessage, details);
}
