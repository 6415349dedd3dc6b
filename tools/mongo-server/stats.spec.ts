/**
 * serverStatus counting in the engine itself, where no other client shares the counters: the
 * rules the conformance suite checks over the wire, plus aliases, aggregate and the reply's shape.
 */
import { Long } from 'bson';
import { Engine } from './engine.js';
import { Document } from './values.js';

const ctx = { connectionId: 1 };

function status(engine: Engine, extra: Document = {}): Document {
  return engine.execute('admin', { serverStatus: 1, ...extra }, ctx);
}

function counter(reply: Document, name: string): { total: number; failed: number } {
  const entry = (reply.metrics as { commands: Record<string, Document> }).commands[name];
  return { total: Number(entry.total), failed: Number(entry.failed) };
}

describe('serverStatus counters', () => {
  it('counts aliases under the name mongod registers, and aggregate as a command', () => {
    const engine = new Engine();
    engine.execute('db', { ismaster: 1 }, ctx);
    engine.execute('db', { isMaster: 1 }, ctx);
    engine.execute('db', { hello: 1 }, ctx);
    engine.execute('db', { findandmodify: 'c', query: {}, update: { $set: { a: 1 } } }, ctx);
    engine.execute('db', { aggregate: 'c', pipeline: [], cursor: {} }, ctx);
    const reply = status(engine);
    expect(counter(reply, 'isMaster').total).toBe(2);
    expect(counter(reply, 'hello').total).toBe(1);
    expect(counter(reply, 'findAndModify').total).toBe(1);
    const commands = (reply.metrics as { commands: Document }).commands;
    expect(commands.ismaster).toBeUndefined();
    expect(commands.findandmodify).toBeUndefined();
    // Five commands and this serverStatus; aggregate moved to opcounters.query only in 7.1.
    expect(Number((reply.opcounters as Document).command)).toBe(6);
    expect(Number((reply.opcounters as Document).query)).toBe(0);
  });

  it('counts a command refused for its transaction fields as received and failed', () => {
    const engine = new Engine();
    const reply = engine.execute('db', { insert: 'c', documents: [{}], txnNumber: 1 }, ctx);
    expect(reply.ok).toBe(0);
    const after = status(engine);
    expect(counter(after, 'insert')).toEqual({ total: 1, failed: 1 });
    expect(Number((after.opcounters as Document).insert)).toBe(0);
  });

  it('counts an invalid document of an insert as attempted', () => {
    const engine = new Engine();
    engine.execute(
      'db',
      { insert: 'c', documents: [{ _id: 1 }, 5, { _id: 2 }], ordered: false },
      ctx,
    );
    expect(Number((status(engine).opcounters as Document).insert)).toBe(3);
  });

  it('reports counters as longs, lists every command and leaves out sections asked to', () => {
    const engine = new Engine();
    const reply = status(engine);
    expect((reply.opcounters as Document).command).toBeInstanceOf(Long);
    expect(reply.uptimeMillis).toBeInstanceOf(Long);
    expect((reply.metrics as { commands: Document }).commands['<UNKNOWN>']).toEqual(Long.ZERO);
    expect(counter(reply, 'distinct')).toEqual({ total: 0, failed: 0 });
    expect(reply.connections).toMatchObject({ current: 0, available: 1_000_000 });
    const trimmed = status(engine, { metrics: 0, opcounters: false });
    expect(trimmed.metrics).toBeUndefined();
    expect(trimmed.opcounters).toBeUndefined();
    expect(trimmed).toMatchObject({ ok: 1, process: 'mongod' });
  });
});
