/** A benchmark's size from its environment variable: a positive integer up to `max`, or `fallback` when unset. */
export function positiveInteger(name: string, fallback: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= max)) throw new Error(`${name}=${JSON.stringify(raw)} must be an integer from 1 to ${max}`);
  return n;
}
