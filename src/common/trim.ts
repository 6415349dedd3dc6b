import { Transform } from 'class-transformer';

/** Trims surrounding whitespace of string input; other types pass through to the validators. */
export const Trim = () =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));
