/**
 * The short code learners type to join a workshop. Read aloud or copied from a projector, so the
 * alphabet leaves out characters that look alike, and what a learner types is forgiven for case,
 * spaces and dashes.
 */

import { randomBytes } from 'node:crypto';

/** No 0/O and no 1/I/L, which look alike on a projector. */
export const JOIN_CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const JOIN_CODE_LENGTH = 6;

/**
 * Bytes at or above this are thrown away: it is the largest multiple of the alphabet's size that
 * fits in a byte (248 for 31 letters), so `byte % size` picks every letter equally often.
 */
const ACCEPT_BELOW = 256 - (256 % JOIN_CODE_ALPHABET.length);

/**
 * An honest source needs more than this many bytes for one code with a probability far below
 * 2^-1000; a source that does must be broken, and looping on it would hang the server.
 */
const MAX_BYTES_PER_CODE = 1024;

/** A fresh code; `random` is injectable so tests can feed it known bytes. */
export function newJoinCode(random: (n: number) => Buffer = randomBytes): string {
  let code = '';
  let drawn = 0;
  while (code.length < JOIN_CODE_LENGTH) {
    if (drawn >= MAX_BYTES_PER_CODE) throw new Error(`the random source gave ${drawn} bytes without ${JOIN_CODE_LENGTH} below ${ACCEPT_BELOW}`);
    const bytes = random(JOIN_CODE_LENGTH - code.length);
    if (bytes.length === 0) throw new Error(`the random source returned no bytes when asked for ${JOIN_CODE_LENGTH - code.length}`);
    drawn += bytes.length;
    for (const byte of bytes) {
      if (byte < ACCEPT_BELOW && code.length < JOIN_CODE_LENGTH) code += JOIN_CODE_ALPHABET[byte % JOIN_CODE_ALPHABET.length];
    }
  }
  return code;
}

/** Longer input is refused unread: no code is anywhere near this long, even with separators. */
const MAX_INPUT_LENGTH = 64;

/**
 * The code a learner typed, upper-cased with whitespace and dashes dropped, or undefined unless
 * that leaves exactly JOIN_CODE_LENGTH characters of the alphabet.
 */
export function normalizeJoinCode(input: unknown): string | undefined {
  if (typeof input !== 'string' || input.length > MAX_INPUT_LENGTH) return undefined;
  const compact = input.replace(/[\s-]/g, '');
  // ASCII only before upper-casing: 'ß' and 'ſ' upper-case to S, which would make them valid.
  if (!/^[A-Za-z0-9]+$/.test(compact)) return undefined;
  const code = compact.toUpperCase();
  if (code.length !== JOIN_CODE_LENGTH || ![...code].every((c) => JOIN_CODE_ALPHABET.includes(c))) return undefined;
  return code;
}
