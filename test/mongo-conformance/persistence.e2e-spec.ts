/**
 * The offline server as a process: `--dbpath` persistence across a clean restart and across a
 * SIGKILL, in-memory mode, the CLI the `mongo:offline` npm script runs, signal handling, and a
 * server started by a harness that dies first.
 * Every test starts its own server process, so this file runs the same whether or not the rest
 * of the suite talks to a real MongoDB through MONGODB_URI.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { MongoClient, type Document } from 'mongodb';
import mongoose, { Schema } from 'mongoose';
import { ROOT, StartedProcess, startProcess } from '../../tools/harness/processes.js';
import { OfflineMongo, freePort, startOfflineMongo } from '../../tools/harness/services.js';
import { waitFor } from '../../tools/harness/wait.js';

/** Documents with the numeric `_id`s these tests use. */
interface Doc extends Document {
  _id?: number;
}

const tempDirs: string[] = [];
const running: OfflineMongo[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'offline-mongo-'));
  tempDirs.push(dir);
  return dir;
}

async function start(dbPath?: string): Promise<OfflineMongo> {
  const server = await startOfflineMongo({ dbPath });
  running.push(server);
  return server;
}

async function withClient<T>(
  server: OfflineMongo,
  fn: (client: MongoClient) => Promise<T>,
): Promise<T> {
  const client = await MongoClient.connect(`${server.url}/persist`);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** Kills the server process outright and waits until it is gone. */
async function kill(server: OfflineMongo): Promise<void> {
  const { child } = server.process;
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
}

afterAll(async () => {
  for (const server of running) await server.stop();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('--dbpath', () => {
  it('keeps data and indexes across a SIGTERM restart', async () => {
    const dir = tempDir();
    const first = await start(dir);
    await withClient(first, async (client) => {
      const coll = client.db().collection<Doc>('users');
      await coll.createIndex({ email: 1 }, { unique: true });
      await coll.insertMany([
        { _id: 1, email: 'a@example.com', n: 1 },
        { _id: 2, email: 'b@example.com', n: 2 },
        { _id: 3, email: 'c@example.com', n: 3 },
      ]);
      await coll.updateOne({ _id: 2 }, { $set: { n: 20 } });
      await coll.deleteOne({ _id: 3 });
      await client.db().collection('dropped').insertOne({ x: 1 });
      await client.db().collection('dropped').drop();
    });
    expect(await first.process.stop('SIGTERM')).toBe(0);

    const second = await start(dir);
    await withClient(second, async (client) => {
      const coll = client.db().collection<Doc>('users');
      expect(await coll.find().sort({ _id: 1 }).toArray()).toEqual([
        { _id: 1, email: 'a@example.com', n: 1 },
        { _id: 2, email: 'b@example.com', n: 20 },
      ]);
      const indexes = await coll.listIndexes().toArray();
      expect(indexes.find((i) => i.name === 'email_1')).toMatchObject({
        key: { email: 1 },
        unique: true,
      });
      const duplicate = await coll
        .insertOne({ _id: 9, email: 'a@example.com' })
        .catch((err: unknown) => err);
      expect(duplicate).toMatchObject({ code: 11000, keyValue: { email: 'a@example.com' } });
      const names = (await client.db().listCollections().toArray()).map((c) => c.name);
      expect(names).toEqual(['users']);
    });
  });

  it('keeps every acknowledged write when the process is killed with SIGKILL', async () => {
    const dir = tempDir();
    const first = await start(dir);
    await withClient(first, async (client) => {
      const coll = client.db().collection<Doc>('orders');
      await coll.createIndex({ ref: 1 }, { unique: true });
      for (let i = 0; i < 50; i++) await coll.insertOne({ _id: i, ref: `r${i}`, state: 'new' });
      await coll.updateMany({ _id: { $lt: 10 } }, { $set: { state: 'paid' } });
      await coll.deleteMany({ _id: { $gte: 45 } });
      await coll.findOneAndUpdate({ _id: 20 }, { $inc: { attempts: 1 } });
    });
    await kill(first);

    const second = await start(dir);
    await withClient(second, async (client) => {
      const coll = client.db().collection<Doc>('orders');
      expect(await coll.countDocuments()).toBe(45);
      expect(await coll.countDocuments({ state: 'paid' })).toBe(10);
      expect(await coll.findOne({ _id: 20 })).toEqual({
        _id: 20,
        ref: 'r20',
        state: 'new',
        attempts: 1,
      });
      expect(await coll.findOne({ _id: 45 })).toBeNull();
      const duplicate = await coll.insertOne({ ref: 'r1' }).catch((err: unknown) => err);
      expect(duplicate).toMatchObject({ code: 11000 });
    });
  });
});

describe('in-memory mode', () => {
  it('starts empty every time', async () => {
    const first = await start();
    await withClient(first, async (client) => {
      await client.db().collection('c').insertOne({ a: 1 });
      expect(await client.db().collection('c').countDocuments()).toBe(1);
    });
    expect(await first.process.stop('SIGTERM')).toBe(0);

    const second = await start();
    await withClient(second, async (client) => {
      const { databases } = await client.db().admin().listDatabases({ nameOnly: true });
      expect(databases.map((d) => d.name)).not.toContain('persist');
      expect(await client.db().collection('c').countDocuments()).toBe(0);
    });
  });
});

describe('command line', () => {
  /** The command of the `mongo:offline` npm script, run directly so signals reach the server. */
  function npmScriptCommand(): string[] {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const words = pkg.scripts['mongo:offline'].split(/\s+/);
    expect(words[0]).toBe('node');
    return [process.execPath, ...words.slice(1)];
  }

  async function startCli(port: number): Promise<StartedProcess> {
    const [command, ...args] = npmScriptCommand();
    return startProcess(
      command,
      [...args, '--port', String(port)],
      /listening on (mongodb:\/\/\S+)/,
      {
        label: 'npm run mongo:offline',
      },
    );
  }

  it('prints its URI and serves mongoose on a plain mongodb://127.0.0.1:N/db URI, then stops on SIGINT', async () => {
    const port = await freePort();
    const proc = await startCli(port);
    try {
      expect(proc.ready[1]).toBe(`mongodb://127.0.0.1:${port}`);
      expect(proc.output()).toMatch(/in-memory/);

      const conn = await mongoose.createConnection(`mongodb://127.0.0.1:${port}/plain`).asPromise();
      try {
        const Item = conn.model(
          'Item',
          new Schema({ name: { type: String, unique: true }, qty: Number }),
        );
        await Item.init();
        await Item.create({ name: 'pen', qty: 3 });
        expect(await Item.findOne({ name: 'pen' }).lean()).toMatchObject({ name: 'pen', qty: 3 });
        await expect(Item.create({ name: 'pen', qty: 1 })).rejects.toMatchObject({ code: 11000 });
      } finally {
        await conn.close();
      }
    } finally {
      expect(await proc.stop('SIGINT')).toBe(0);
    }
    expect(proc.output()).toMatch(/stopping on SIGINT/);
  });

  it('stops on SIGTERM with exit code 0 while clients are connected', async () => {
    const port = await freePort();
    const proc = await startCli(port);
    const client = await MongoClient.connect(`mongodb://127.0.0.1:${port}/signals`, {
      serverSelectionTimeoutMS: 2000,
    });
    try {
      await client.db().collection('c').insertOne({ a: 1 });
      expect(await proc.stop('SIGTERM')).toBe(0);
      expect(proc.output()).toMatch(/stopping on SIGTERM/);
    } finally {
      await client.close();
    }
  });
});

describe('started by a harness', () => {
  it('stops when the process that started it is killed before stopping it (--exit-with-parent)', async () => {
    // A stand-in for a test run or load generator killed before its teardown.
    const starter = await startProcess(
      process.execPath,
      [
        '--import',
        'tsx',
        '--eval',
        "import('./tools/harness/services.ts').then(async ({ startOfflineMongo }) => { const s = await startOfflineMongo(); process.stdout.write('server ' + s.process.child.pid + ' at ' + s.url + '\\n'); setInterval(() => undefined, 1000); });",
      ],
      /server (\d+) at (mongodb:\/\/\S+)/,
      { label: 'a harness', cwd: ROOT },
    );
    const [, pid, url] = starter.ready;
    try {
      const client = await MongoClient.connect(url ?? '', { serverSelectionTimeoutMS: 2000 });
      await client.db('orphan').collection('c').insertOne({ a: 1 });
      await client.close();

      await starter.stop('SIGKILL');
      const port = Number(new URL(url ?? '').port);
      await waitFor(() => refusesConnections(port), {
        timeoutMs: 10_000,
        intervalMs: 100,
        what: 'the orphaned server to stop',
      });
    } finally {
      // When it did not stop by itself, this test does not leave it behind either.
      try {
        process.kill(Number(pid));
      } catch {
        // Gone already.
      }
    }
  });
});

/** Whether nothing listens on the port any more. */
function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}
