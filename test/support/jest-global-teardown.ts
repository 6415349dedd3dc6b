/**
 * Jest global teardown: removes anything of this run that a failed test left behind (databases
 * and Redis keys named with the run id), then stops the services the setup started.
 */
import { MongoClient } from 'mongodb';
import { removeRedisKeys } from '../../tools/harness/services.js';

export default async function globalTeardown(): Promise<void> {
  const runId = process.env.TEST_RUN_ID;
  const mongoUri = process.env.TEST_MONGODB_URI;
  const redisUrl = process.env.TEST_REDIS_URL;
  if (runId && mongoUri) {
    const client = await MongoClient.connect(mongoUri, { serverSelectionTimeoutMS: 5000 });
    try {
      const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
      for (const { name } of databases)
        if (name.startsWith(runId)) await client.db(name).dropDatabase();
    } finally {
      await client.close();
    }
  }
  // Every key of the run starts with its hash-tagged prefix `{<runId>…}` (config.redis.keyPrefix).
  if (runId && redisUrl) await removeRedisKeys(redisUrl, `{${runId}*`);
  for (const service of globalThis.__TEST_SERVICES__ ?? []) await service.stop();
}
