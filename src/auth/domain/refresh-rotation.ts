/**
 * What a refresh token that cannot be spent (it was rotated already, or its session ended) is
 * answered with, as plain functions over the refresh-token records. Each rotation writes on the
 * spent record when it happened and which token succeeded it.
 *
 * Two tabs of one browser refresh with the same cookie at once: one spends the token, and the
 * other must not be taken for a thief. Within the grace window after its rotation, the token is
 * answered with its successor, signed again: the same token, so the family never forks. If that
 * successor has itself been rotated meanwhile (the first tab refreshed again), handing it out would
 * put a spent token back in the browser, and the next refresh would end the session as reuse; so
 * the chain is followed to its newest token. Every later rotation in the chain happened after the
 * first one, so it is within its own window too: the walk hands out nothing that presenting each
 * token in turn would not. Past the window, a spent token presented again is reuse.
 */

/** A refresh-token record as far as these decisions need it. */
export interface RotationRecord {
  rotatedAt: Date | null;
  revokedAt: Date | null;
  /** The jti of the token its rotation issued. */
  successor: string | null;
}

export type RepeatedPresentation =
  /** Unknown, or never rotated yet still not spendable (expired): refused, nothing revoked. */
  | { kind: 'invalid' }
  /** Its session was ended (logout, reuse, password change). */
  | { kind: 'ended' }
  /** Presented again past the window: someone replays it; the session must end. */
  | { kind: 'reuse' }
  /** Within the window: answer with the successor (or the newest token after it). */
  | { kind: 'grace'; successor: string; rotatedAt: Date };

export function repeatedPresentation(
  record: RotationRecord | undefined,
  now: Date,
  graceMs: number,
): RepeatedPresentation {
  if (!record) return { kind: 'invalid' };
  if (record.revokedAt) return { kind: 'ended' };
  if (!record.rotatedAt) return { kind: 'invalid' };
  if (record.successor && now.getTime() - record.rotatedAt.getTime() <= graceMs)
    return { kind: 'grace', successor: record.successor, rotatedAt: record.rotatedAt };
  return { kind: 'reuse' };
}

/** Rotations of one token followed at most; a longer chain within seconds is not two tabs. */
export const MAX_GRACE_CHAIN = 5;

export type ChainStep =
  /** Hand out this successor: it is unspent, or its record is still being written. */
  | { kind: 'hand-out' }
  /** It was rotated too: go on to its successor. */
  | { kind: 'follow'; successor: string; rotatedAt: Date }
  | { kind: 'ended' }
  /** Rotated without a recorded successor (before successors were recorded): treat as reuse. */
  | { kind: 'reuse' };

/** One step down the chain, given the record of the successor about to be handed out. */
export function chainStep(successor: RotationRecord | undefined): ChainStep {
  // The rotation that named it writes its record just after: it exists a moment later.
  if (!successor) return { kind: 'hand-out' };
  if (successor.revokedAt) return { kind: 'ended' };
  if (!successor.rotatedAt) return { kind: 'hand-out' };
  if (!successor.successor) return { kind: 'reuse' };
  return { kind: 'follow', successor: successor.successor, rotatedAt: successor.rotatedAt };
}
