/**
 * What a log line should say about the work in progress: the HTTP request and its user, or the
 * queue job and its order. Carried through async calls by AsyncLocalStorage.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface LogContext {
  requestId?: string;
  userId?: string;
  jobId?: string;
  orderId?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

export function runWithLogContext<T>(context: LogContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...context }, fn);
}

/** The current context, mutable so later steps (authentication) can add to it. */
export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

/** Runs `fn` outside any request or job context: work done for many jobs at once belongs to none. */
export function withoutLogContext<T>(fn: () => T): T {
  return storage.exit(fn);
}
