/**
 * `npm run mongo:offline -- [--port N] [--host H] [--dbpath DIR]`: runs the offline
 * MongoDB-compatible server in the foreground until SIGINT or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { OfflineMongoServer } from './server.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '27017' },
      host: { type: 'string', default: '127.0.0.1' },
      dbpath: { type: 'string' },
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
}

main().catch((err: unknown) => {
  process.stderr.write(
    `offline MongoDB failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
