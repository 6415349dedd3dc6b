/**
 * What a test file needs to reach the services the global setup chose, and names that keep each
 * test's data apart from every other test's and every other run's.
 */
let counter = 0;

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(
      `${name} is not set: run the tests through jest (npm test) so the global setup runs`,
    );
  return value;
}

export function testMongoUri(): string {
  return required('TEST_MONGODB_URI');
}

export function testRedisUrl(): string {
  return required('TEST_REDIS_URL');
}

/** Identifies this `npm test` run; every database and queue prefix of the run starts with it. */
export function testRunId(): string {
  return required('TEST_RUN_ID');
}

/** A database name no other test or run uses (MongoDB allows 63 characters). */
export function uniqueDbName(label: string): string {
  const safe = label.replace(/[^a-zA-Z0-9_]/g, '_').slice(0, 20);
  return `${testRunId()}_${process.pid % 100000}_${safe}_${++counter}`.slice(0, 63);
}

/** A connection string for `db` on the test MongoDB, keeping any options of the base URI. */
export function mongoUriFor(db: string): string {
  const url = new URL(testMongoUri());
  url.pathname = `/${db}`;
  return url.toString();
}

/** A BullMQ key prefix no other test or run uses. */
export function uniqueQueuePrefix(label: string): string {
  return `${testRunId()}:${process.pid % 100000}:${label}:${++counter}`;
}
