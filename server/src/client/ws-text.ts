import type { RawData } from 'ws';

/** The text of a WebSocket message, whichever of its buffer forms `ws` delivered it in. */
export function wsText(raw: RawData): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  if (raw instanceof ArrayBuffer) return Buffer.from(raw).toString('utf8');
  return raw.toString('utf8');
}
