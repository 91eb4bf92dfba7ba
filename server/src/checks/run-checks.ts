import type { CheckResult } from '../../../common/api.js';
import type { CheckSpec } from '../labs/lab.js';
import { fillTemplate } from '../labs/template.js';
import type { CheckContext } from './check-context.js';
import { runCommandCheck } from './command-check.js';
import { runFileCheck } from './file-check.js';
import { runIpvsRealServersCheck } from './ipvs-real-servers-check.js';
import { runIpvsRepliesCheck } from './ipvs-replies-check.js';
import { runResultsFileCheck } from './results-file-check.js';
import { runIpvsServiceCheck } from './ipvs-service-check.js';
import { IpvsUnavailableError } from './read-ipvs-table.js';
import { runTrafficCheck } from './traffic-check.js';
import { ExecTimeoutError, HostDownError } from '../runtime/runtime.js';
import { IpvsParseError } from '../ipvs/ipvs-parse-error.js';

/** Fills `{{variables}}` in every string of a check spec. */
function fillCheck<T extends CheckSpec>(check: T, variables: Readonly<Record<string, string>>): T {
  return JSON.parse(JSON.stringify(check), (_key, value: unknown) => (typeof value === 'string' ? fillTemplate(value, variables) : value)) as T;
}

async function runOne(check: CheckSpec, ctx: CheckContext): Promise<CheckResult> {
  switch (check.kind) {
    case 'command':
      return runCommandCheck(check, ctx);
    case 'ipvs-service':
      return runIpvsServiceCheck(check, ctx);
    case 'ipvs-real-servers':
      return runIpvsRealServersCheck(check, ctx);
    case 'traffic':
      return runTrafficCheck(check, ctx);
    case 'file':
      return runFileCheck(check, ctx);
    case 'ipvs-replies':
      return runIpvsRepliesCheck(check, ctx);
    case 'results-file':
      return runResultsFileCheck(check, ctx);
  }
}

/**
 * Runs a step's checks in order and reports the first failure, or the last success. Expected
 * trouble (no IPVS, a timeout, output that does not parse) becomes a failed result with a
 * message, not an exception: the learner always gets a sentence back.
 */
export async function runChecks(checks: readonly CheckSpec[], ctx: CheckContext): Promise<CheckResult> {
  const started = Date.now();
  const elapsed = () => ({ elapsedMs: Date.now() - started });
  if (checks.length === 0) return { passed: true, message: 'Nothing to check on this step: it is marked done.', ...elapsed() };
  let last: CheckResult | undefined;
  for (const check of checks) {
    try {
      last = await runOne(fillCheck(check, ctx.variables), ctx);
    } catch (e) {
      if (e instanceof IpvsUnavailableError || e instanceof ExecTimeoutError || e instanceof IpvsParseError || e instanceof HostDownError)
        return { passed: false, message: `${e.message}.`.replace(/\.\.$/, '.'), ...elapsed() };
      throw e;
    }
    if (!last.passed) return { ...last, ...elapsed() };
  }
  return { ...last!, ...elapsed() };
}
