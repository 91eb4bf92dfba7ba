import type { Chart, CheckResult } from '../../../common/api.js';
import type { ResultsFileCheck } from '../labs/lab.js';
import { fail, pass, type CheckContext } from './check-context.js';

/** Results files are a few lines per measurement; anything larger is not one. */
export const MAX_RESULTS_BYTES = 64 * 1024;
/** A chart with more points (per line) or lines than this is not something a learner measured by hand. */
const MAX_POINTS = 200;
const MAX_SERIES = 12;

/** `key=value key=value`: its pairs, in order; a word without `=` (or starting with one) is skipped. */
function pairsOf(text: string): [string, string][] {
  return text
    .trim()
    .split(/\s+/)
    .filter((word) => word.indexOf('=') > 0)
    .map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]);
}

/** Every `#result key=value ...` line of the file, as key → value, in file order. */
export function parseResults(text: string): Record<string, string>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('#result '))
    .map((line) => Object.fromEntries(pairsOf(line.slice('#result '.length))));
}

/**
 * The chart of `rows`: one line per value of `series`, points (x, y) sorted by x; rows whose x or
 * y is not a number are left out (a measurement that failed prints `-`). The latest row for an x
 * wins: a learner who measured again sees the new run.
 */
export function chartOf(rows: readonly Record<string, string>[], spec: NonNullable<ResultsFileCheck['chart']>): Chart {
  const lines = new Map<string, Map<number, number>>();
  for (const row of rows) {
    const name = row[spec.series];
    const x = Number(row[spec.x]);
    const y = Number(row[spec.y]);
    if (!lines.has(name ?? '') && lines.size >= MAX_SERIES) continue;
    if (name === undefined || row[spec.x] === undefined || row[spec.y] === undefined || !Number.isFinite(x) || !Number.isFinite(y)) continue;
    const points = lines.get(name) ?? new Map<number, number>();
    points.set(x, y);
    lines.set(name, points);
  }
  const series = [...lines].map(([name, points]) => ({
    name,
    points: [...points]
      .sort(([a], [b]) => a - b)
      .slice(0, MAX_POINTS)
      .map(([x, y]) => ({ x, y })),
  }));
  return { title: spec.title, xLabel: spec.xLabel, yLabel: spec.yLabel, series };
}

export async function runResultsFileCheck(check: ResultsFileCheck, ctx: CheckContext): Promise<CheckResult> {
  const read = await ctx.readFile(check.host, check.path, MAX_RESULTS_BYTES);
  if ('problem' in read) return fail(`${check.failMessage} (${check.path} in ${check.host}: ${read.problem})`);
  const rows = parseResults(read.content.toString('utf8'));
  const missing = check.require.filter((spec) => !rows.some((row) => pairsOf(spec).every(([k, v]) => row[k] === v)));
  const details = { path: check.path, rows: rows.length };
  if (missing.length > 0) return fail(`${check.failMessage} (${check.path} has no result for ${missing.join('; ')})`, details);
  const result = pass(`${check.path} has all ${check.require.length} measurements (${rows.length} results in all).`, details);
  return check.chart ? { ...result, chart: chartOf(rows, check.chart) } : result;
}
