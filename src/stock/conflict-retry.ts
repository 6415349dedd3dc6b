import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_CONFLICT_ROUNDS, conflictRetryDelayMs } from './domain/reservation.js';

/** What an optimistic write answers when the document changed since it was read. */
export const CONFLICT = Symbol('version conflict');

/** Optimistic locking kept losing (MAX_CONFLICT_ROUNDS rounds): a transient error, retried later. */
export class VersionConflictError extends Error {
  constructor(what: string, rounds: number) {
    super(`${what}: version conflict persisted after ${rounds} rounds`);
    this.name = 'VersionConflictError';
  }
}

/**
 * Runs read-decide-write rounds until one writes: a lost version race is re-read and retried at
 * once (with jitter), never turned into a backoff. `onConflict` counts the lost rounds.
 */
export async function retryOnConflict<T>(
  what: string,
  round: () => Promise<T | typeof CONFLICT>,
  onConflict: () => void,
): Promise<T> {
  for (let lost = 0; ;) {
    const result = await round();
    if (result !== CONFLICT) return result;
    onConflict();
    if (++lost >= MAX_CONFLICT_ROUNDS) throw new VersionConflictError(what, lost);
    const delay = conflictRetryDelayMs(lost, Math.random());
    if (delay > 0) await sleep(delay);
  }
}
