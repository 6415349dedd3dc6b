/**
 * The protocol readers of the counting proxy (load/lib): every command is found exactly once, with
 * the right end offset, however the bytes are cut into chunks.
 */
import { createHash } from 'node:crypto';
import { Document, serialize } from 'bson';
import {
  diffSnapshots,
  sumSnapshots,
  RedisSnapshot,
} from '../tools/counting-proxy/counting-proxy.js';
import { MongoCommand, MongoMessageParser } from '../tools/counting-proxy/mongo-protocol.js';
import { RedisCommand, RespCommandParser } from '../tools/counting-proxy/redis-protocol.js';
import { CommandReader, ProtocolError } from '../tools/counting-proxy/wire.js';

/** A request as clients send it: an array of bulk strings. */
function resp(...args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const value = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${value.length}\r\n`), value, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

let requestId = 0;
function opMsg(body: Document, options: { checksum?: boolean; sequence?: Document[] } = {}) {
  const sections: Uint8Array[] = [Buffer.from([0]), serialize(body)];
  if (options.sequence) {
    const docs = Buffer.concat(options.sequence.map((d) => serialize(d)));
    const id = Buffer.from('documents\0');
    const size = Buffer.alloc(4);
    size.writeInt32LE(4 + id.length + docs.length);
    sections.push(Buffer.from([1]), size, id, docs);
  }
  const flags = Buffer.alloc(4);
  flags.writeUInt32LE(options.checksum ? 1 : 0);
  return frame(2013, [flags, ...sections, ...(options.checksum ? [Buffer.alloc(4)] : [])]);
}

function opQuery(collection: string, query: Document): Buffer {
  const flags = Buffer.alloc(4);
  const skipAndLimit = Buffer.alloc(8);
  return frame(2004, [flags, Buffer.from(`${collection}\0`), skipAndLimit, serialize(query)]);
}

function frame(opCode: number, parts: Uint8Array[]): Buffer {
  const header = Buffer.alloc(16);
  const length = 16 + parts.reduce((n, p) => n + p.length, 0);
  header.writeInt32LE(length, 0);
  header.writeInt32LE(++requestId, 4);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, ...parts]);
}

/** Feeds `bytes` in pieces of the given sizes (cycled); returns commands with absolute end offsets. */
function feed<C>(reader: CommandReader<C>, bytes: Buffer, sizes: number[]) {
  const found: Array<{ command: C; end: number }> = [];
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length];
    for (const { command, end } of reader.push(bytes.subarray(offset, offset + size)))
      found.push({ command, end: offset + end });
    offset += size;
  }
  return found;
}

const SPLITS = [[1], [2], [3, 7], [5, 1, 64], [1 << 20]];

describe('RESP reader', () => {
  const script = "return redis.call('GET', KEYS[1])";
  const sha = createHash('sha1').update(script).digest('hex');
  const pipeline = [
    resp('SET', 'k', 'value with \r\n inside'),
    resp('get', 'k'),
    resp('MULTI'),
    resp('INCR', 'n'),
    resp('EXEC'),
    resp('EVAL', script, '1', 'k'),
    resp('EVALSHA', sha.toUpperCase(), '1', 'k'),
    resp('SCRIPT', 'load', script),
    resp('CLIENT', 'SETNAME', 'worker'),
    resp('BZPOPMIN', 'marker', '5'),
    resp('SET', 'empty', ''),
    Buffer.from('PING\r\n'),
    Buffer.from('\r\n'),
    Buffer.from('set  inline value\n'),
  ];
  const bytes = Buffer.concat(pipeline);
  const ends = pipeline.map((_, i) => pipeline.slice(0, i + 1).reduce((n, b) => n + b.length, 0));

  it.each(SPLITS)(
    'finds each command of a pipeline once, cut in pieces of %p bytes',
    (...sizes) => {
      const found = feed(new RespCommandParser(), bytes, sizes);
      expect(found.map((f) => f.command.name)).toEqual([
        'SET',
        'GET',
        'MULTI',
        'INCR',
        'EXEC',
        'EVAL',
        'EVALSHA',
        'SCRIPT LOAD',
        'CLIENT SETNAME',
        'BZPOPMIN',
        'SET',
        'PING',
        'SET',
      ]);
      // The empty inline line is no command; its bytes belong to the next one.
      expect(found.map((f) => f.end)).toEqual([...ends.slice(0, 12), ends[13]]);
      const scripts = found.filter((f) => f.command.script);
      expect(scripts.map((f) => [f.command.name, f.command.script])).toEqual([
        ['EVAL', sha],
        ['EVALSHA', sha],
        ['SCRIPT LOAD', sha],
      ]);
      expect(scripts[0].command.scriptPreview).toBe(script);
      expect(found[0].command.args).toEqual(['k', 'value with \r\n inside']);
      expect(found[12].command.args).toEqual(['inline', 'value']);
    },
  );

  it('reads a large value in many chunks without keeping it', () => {
    const value = Buffer.alloc(10 * 1024 * 1024, 'x');
    const big = Buffer.concat([resp('SET', 'big', value), resp('GET', 'big')]);
    const found: RedisCommand[] = feed(new RespCommandParser(), big, [65536]).map((f) => f.command);
    expect(found.map((c) => c.name)).toEqual(['SET', 'GET']);
    expect(found[0].args[1]).toHaveLength(1024);
  });

  it('hashes a large EVAL script as it streams', () => {
    const long = `-- ${'padding '.repeat(100_000)}\nreturn 1`;
    const found = feed(new RespCommandParser(), resp('EVAL', long, '0'), [4096]);
    expect(found).toHaveLength(1);
    expect(found[0].command.script).toBe(createHash('sha1').update(long).digest('hex'));
  });

  it('refuses bytes that are not RESP requests', () => {
    expect(() => new RespCommandParser().push(Buffer.from('*x\r\n'))).toThrow(ProtocolError);
    expect(() => new RespCommandParser().push(Buffer.from('*1\r\n:1\r\n'))).toThrow(ProtocolError);
  });
});

describe('MongoDB wire reader', () => {
  const messages = [
    opQuery('admin.$cmd', { isMaster: 1, helloOk: true, client: { driver: 'x' } }),
    opMsg({ hello: 1, $db: 'admin' }),
    opMsg({ find: 'orders', filter: { status: 'PENDING' }, $db: 'shop' }),
    opMsg({ insert: 'orders', $db: 'shop' }, { sequence: [{ a: 1 }, { a: 2 }] }),
    opMsg({ getMore: 12345, collection: 'orders', $db: 'shop' }, { checksum: true }),
    opMsg({ findAndModify: 'products', query: {}, update: {}, $db: 'shop' }),
    opMsg({ endSessions: [], $db: 'admin' }),
    frame(2012, [Buffer.alloc(9)]),
  ];
  const bytes = Buffer.concat(messages);

  it.each(SPLITS)('finds each message once, cut in pieces of %p bytes', (...sizes) => {
    const found = feed(new MongoMessageParser(), bytes, sizes);
    const summary = (c: MongoCommand) => [c.name, c.kind, c.collection];
    expect(found.map((f) => summary(f.command))).toEqual([
      ['isMaster', 'control', undefined],
      ['hello', 'control', undefined],
      ['find', 'data', 'orders'],
      ['insert', 'data', 'orders'],
      ['getMore', 'data', 'orders'],
      ['findAndModify', 'data', 'products'],
      ['endSessions', 'control', undefined],
      ['OP_2012', 'unknown', undefined],
    ]);
    expect(found.map((f) => f.end)).toEqual(
      messages.map((_, i) => messages.slice(0, i + 1).reduce((n, m) => n + m.length, 0)),
    );
    expect(found[2].command.body).toMatchObject({ filter: { status: 'PENDING' } });
  });

  it('reads a large insert in many chunks', () => {
    const big = opMsg({ insert: 'blobs', documents: [{ blob: 'x'.repeat(8 * 1024 * 1024) }] });
    const found = feed(new MongoMessageParser(), Buffer.concat([big, big]), [65536, 1000]);
    expect(found.map((f) => f.command.name)).toEqual(['insert', 'insert']);
  });

  it('refuses a length no MongoDB message has', () => {
    const bad = Buffer.alloc(16);
    bad.writeInt32LE(3);
    expect(() => new MongoMessageParser().push(bad)).toThrow(ProtocolError);
  });
});

describe('snapshots', () => {
  const at = (commands: Record<string, number>, connections: number): RedisSnapshot => ({
    commands,
    scripts: {},
    connections,
    unparsedConnections: 0,
  });

  it('differ and add up field by field, leaving out what did not change', () => {
    const before = at({ GET: 2, SET: 1 }, 1);
    const after = at({ GET: 5, SET: 1, INCR: 3 }, 2);
    expect(diffSnapshots(before, after)).toEqual(at({ GET: 3, INCR: 3 }, 1));
    expect(sumSnapshots(before, after)).toEqual(at({ GET: 7, SET: 2, INCR: 3 }, 3));
  });
});
