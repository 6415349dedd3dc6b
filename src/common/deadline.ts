import { UnavailableError } from './errors.js';

/** A database call that did not answer in time: abandoned, and answered as a 503 or retried. */
export class DeadlineExceededError extends UnavailableError {
  constructor(ms: number) {
    super(`The database did not answer within ${ms} ms; retry shortly`);
  }
}

/**
 * `work`, or a DeadlineExceededError once `ms` have passed. The hot path waits on MongoDB in
 * shared batches, so one call that never answers (a connection that went silent without closing,
 * a client stuck waiting across a server restart) must not hold every request or job behind it.
 * What the abandoned call may still do later is safe: every write it could make is conditional.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineExceededError(ms)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
