/**
 * `npm run mongo:offline -- [--port N] [--host H] [--dbpath DIR]`: runs the offline
 * MongoDB-compatible server in the foreground until SIGINT or SIGTERM. `--exit-with-parent`
 * (the test and load harnesses pass it) also stops it when the process that started it is gone,
 * so a test run killed before its teardown leaves no server behind.
 */
import { parseArgs } from 'node:util';
import { OfflineMongoServer } from './server.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '27017' },
      host: { type: 'string', default: '127.0.0.1' },
      dbpath: { type: 'string' },
      'exit-with-parent': { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be an integer between 0 and 65535, got ${values.port}`);
  }
  const server = await new OfflineMongoServer({
    port,
    host: values.host,
    dbPath: values.dbpath,
  }).start();
  const storage = values.dbpath ? `data in ${values.dbpath}` : 'in-memory';
  process.stdout.write(`offline MongoDB listening on ${server.uri} (${storage})\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`offline MongoDB stopping on ${signal}\n`);
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`offline MongoDB failed to stop cleanly: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  if (values['exit-with-parent']) {
    // An orphan is adopted by another process: its parent id changes.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) stop('its parent exiting');
    }, PARENT_CHECK_MS).unref();
  }
}

/** How often a server started with `--exit-with-parent` looks for its parent. */
const PARENT_CHECK_MS = 500;

main().catch((err: unknown) => {
  process.stderr.write(
    `offline MongoDB failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
