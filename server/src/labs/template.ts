/**
 * `{{name}}` placeholders in step text, checks, solutions and files. Names are a host variable
 * (`host.ip`, `nginx-1.ip`) or a lab variable (`vip`). Filling is strict: an unknown name is an
 * error, never an empty string, so a typo cannot silently give a learner a broken command.
 */

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)?)\s*\}\}/g;

export interface Placeholder {
  readonly name: string;
  /** Index of `{{` in the text. */
  readonly index: number;
}

export function findPlaceholders(text: string): Placeholder[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => ({ name: m[1] ?? '', index: m.index ?? 0 }));
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

export function fillTemplate(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(PLACEHOLDER, (_whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new TemplateError(`unknown variable {{${name}}}; known: ${Object.keys(values).sort().join(', ')}`);
    return value;
  });
}

/** Variables every host provides, by host name. Keep in step with sessions' variable map. */
export const HOST_VARIABLE_SUFFIXES = ['ip'] as const;

export function hostVariableNames(hostNames: readonly string[]): string[] {
  return hostNames.flatMap((h) => HOST_VARIABLE_SUFFIXES.map((s) => `${h}.${s}`));
}

/** Host names that would clash with the session network's variables. */
export const RESERVED_HOST_NAMES = ['spare', 'net'] as const;

/**
 * The session network's variables: `net.prefix` (its prefix length, for `ip addr add`) and
 * `spare.1` … `spare.4`, addresses of the session subnet that no host holds (a second source
 * address for the sh scheduler, say). Keep the count in step with the runtime's SPARE_ADDRESSES.
 */
export const NETWORK_VARIABLE_NAMES = ['net.prefix', 'spare.1', 'spare.2', 'spare.3', 'spare.4'] as const;

export function networkVariableValues(network: { readonly prefix: number; readonly spare: readonly string[] }): Record<string, string> {
  const values: Record<string, string> = { 'net.prefix': String(network.prefix) };
  network.spare.forEach((address, i) => (values[`spare.${i + 1}`] = address));
  return values;
}

/** 1-based line number of a character index. */
export function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
