/**
 * Opaque cursors for keyset pagination: the sort key of the last item a page showed, encoded so
 * clients pass it back unchanged. A page after a cursor holds only items strictly after that key,
 * so items added while a client walks the pages never shift what it sees: every item that existed
 * when the walk started comes exactly once.
 */
import { RequestValidationError } from './validation.js';

export function encodeCursor(key: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The key of a cursor this API gave out; 400 naming `cursor` for anything else. */
export function decodeCursor<K extends Record<string, string | number>>(
  cursor: string,
  shape: { [F in keyof K]: 'string' | 'number' },
): K {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  const valid =
    typeof key === 'object' &&
    key !== null &&
    Object.entries(shape).every(
      ([field, type]) => typeof (key as Record<string, unknown>)[field] === type,
    );
  if (!valid) invalidCursor();
  return key as K;
}

/** 400 naming `cursor`: it is not one this API gave out. */
export function invalidCursor(): never {
  throw new RequestValidationError([
    { field: 'cursor', problem: 'is not a cursor this API gave out (pass nextCursor unchanged)' },
  ]);
}
