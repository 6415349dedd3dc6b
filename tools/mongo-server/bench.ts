/**
 * `npm run bench:mongo [-- --ops N --runs R]`: point findOneAndUpdate-by-_id throughput over one
 * connection, against the offline server started in its own process (or MONGODB_URI if set).
 * A benchmark, not a test: it prints figures and never fails on them.
 */
import { parseArgs } from 'node:util';
import { MongoClient, ObjectId } from 'mongodb';
import { Service, resolveMongo } from '../harness/services.js';

interface Run {
  ops: number;
  seconds: number;
  opsPerSecond: number;
}

async function measure(client: MongoClient, ops: number): Promise<Run> {
  const coll = client.db().collection<{ _id: ObjectId; counter: number; version: number }>('bench');
  const ids = Array.from({ length: 100 }, () => new ObjectId());
  await coll.insertMany(ids.map((_id) => ({ _id, counter: 0, version: 0 })));
  const started = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) {
    await coll.findOneAndUpdate(
      { _id: ids[i % ids.length] },
      { $inc: { counter: 1, version: 1 } },
      { returnDocument: 'after' },
    );
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await coll.drop();
  return { ops, seconds, opsPerSecond: ops / seconds };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { ops: { type: 'string', default: '20000' }, runs: { type: 'string', default: '3' } },
  });
  const ops = Number(values.ops);
  const runs = Number(values.runs);
  const mongo: Service = await resolveMongo();
  const url = new URL(mongo.url);
  url.pathname = `/bench_${process.pid}`;
  const client = await MongoClient.connect(url.toString(), { maxPoolSize: 1 });
  try {
    await measure(client, Math.min(2000, ops)); // warm up JIT on both ends
    const results: Run[] = [];
    for (let i = 0; i < runs; i++) results.push(await measure(client, ops));
    const sorted = results.map((r) => r.opsPerSecond).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    process.stdout.write(`server: ${mongo.description}\n`);
    process.stdout.write(`findOneAndUpdate by _id, one connection, ${ops} ops x ${runs} runs\n`);
    for (const r of results)
      process.stdout.write(`  ${r.opsPerSecond.toFixed(0)} ops/s (${r.seconds.toFixed(2)} s)\n`);
    process.stdout.write(`median: ${median.toFixed(0)} ops/s\n`);
    await client.db().dropDatabase();
  } finally {
    await client.close();
    await mongo.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
