/**
 * A workshop's results as CSV for a spreadsheet: one row per learner, one column per step, the
 * time each step passed. Learner names are typed by learners, so every field is escaped for RFC
 * 4180 and guarded against formula injection.
 */

import type { LearnerStep } from '../../../common/api.js';

/**
 * Spreadsheets run a cell that starts with one of these as a formula (`=HYPERLINK(...)` exfiltrates
 * data when an instructor opens the file); a leading `'` makes them show it as text instead.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

function csvField(value: string): string {
  const guarded = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}

function csvLine(fields: readonly string[]): string {
  return fields.map(csvField).join(',') + '\r\n';
}

/**
 * The header `name,<step id>...`, then per learner (in the given order) the name and, per step,
 * the ISO-8601 time it first passed or an empty field. Lines end with CRLF, the last one too.
 */
export function resultsCsv(steps: readonly { id: string }[], learners: readonly { readonly name: string; readonly steps: readonly LearnerStep[] }[]): string {
  const lines = [csvLine(['name', ...steps.map((s) => s.id)])];
  for (const learner of learners) {
    const passedAt = new Map<string, number>();
    for (const s of learner.steps) if (s.passed && s.passedAt !== undefined) passedAt.set(s.id, s.passedAt);
    const times = steps.map((s) => {
      const at = passedAt.get(s.id);
      return at === undefined ? '' : new Date(at).toISOString();
    });
    lines.push(csvLine([learner.name, ...times]));
  }
  return lines.join('');
}
