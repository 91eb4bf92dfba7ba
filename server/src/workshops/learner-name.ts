/**
 * The display name a learner types when joining a workshop. It is shown to the instructor and
 * exported to CSV, so it is normalised and refused when it hides invisible characters; its `key`
 * decides which names count as the same within one workshop.
 */

export const MAX_NAME_LENGTH = 40;

export type NameResult = { readonly ok: true; readonly name: string; readonly key: string } | { readonly ok: false; readonly error: string };

function codePointLabel(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Validates and normalises a typed name; errors are one sentence, meant for the learner. */
export function parseLearnerName(raw: unknown): NameResult {
  if (typeof raw !== 'string') return { ok: false, error: `the name must be text, not ${raw === null ? 'null' : typeof raw}` };
  // NFC first, so an accent typed as a combining mark counts as one character, as it looks.
  const name = raw.normalize('NFC').trim().replace(/\s+/g, ' ');
  if (name === '') return { ok: false, error: `give a name of 1 to ${MAX_NAME_LENGTH} characters` };
  const length = [...name].length;
  if (length > MAX_NAME_LENGTH) return { ok: false, error: `give a name of at most ${MAX_NAME_LENGTH} characters (this one has ${length})` };
  // Control, format (zero-width, bidi overrides), unassigned and private-use characters can make
  // two names look identical or scramble the instructor's view, so none is allowed.
  const hidden = /\p{C}/u.exec(name);
  if (hidden) return { ok: false, error: `the name contains the invisible or unprintable character ${codePointLabel(hidden[0])}; remove it` };
  // NFKC folds fullwidth and other compatibility forms, so `Ａｄａ` and `Ada` are one learner.
  return { ok: true, name, key: name.normalize('NFKC').toLowerCase() };
}
