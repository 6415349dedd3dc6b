/**
 * Update semantics and the error codes mongod gives for invalid updates. The operators themselves
 * come from mingo; these tests pin down what the server adds around them.
 */
import { Long, ObjectId } from 'bson';
import { Document } from './values.js';
import { applyUpdate, parseUpdate, touchedFields, upsertDocument } from './update.js';

function update(doc: Document, u: unknown, query: Document = {}): Document {
  return applyUpdate(doc, parseUpdate(u), { query, inserting: false });
}

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: number }).code;
  }
  throw new Error('expected an error');
}

describe('parseUpdate', () => {
  it('tells operator updates, replacements and pipelines apart', () => {
    expect(parseUpdate({ $set: { a: 1 }, $setOnInsert: { b: 2 } })).toEqual({
      kind: 'operators',
      modifier: { $set: { a: 1 } },
      setOnInsert: { b: 2 },
    });
    expect(parseUpdate({ a: 1 })).toEqual({ kind: 'replacement', doc: { a: 1 } });
    expect(parseUpdate([{ $set: { a: 1 } }])).toMatchObject({ kind: 'pipeline' });
  });

  it('refuses invalid updates with mongod error codes', () => {
    expect(codeOf(() => parseUpdate({ $nope: { a: 1 } }))).toBe(9);
    expect(codeOf(() => parseUpdate({ $set: 1 }))).toBe(9);
    expect(codeOf(() => parseUpdate({ $inc: { a: 'x' } }))).toBe(14);
    expect(codeOf(() => parseUpdate({ $mul: { a: null } }))).toBe(14);
    expect(codeOf(() => parseUpdate({ $set: { a: 1 }, $inc: { a: 1 } }))).toBe(40);
    expect(codeOf(() => parseUpdate({ $set: { 'a.b': 1 }, $unset: { a: '' } }))).toBe(40);
    expect(codeOf(() => parseUpdate({ $rename: { a: 'b' }, $set: { b: 1 } }))).toBe(40);
    expect(codeOf(() => parseUpdate({ a: 1, $set: { b: 1 } }))).toBe(52);
    expect(codeOf(() => parseUpdate([{ $match: {} }]))).toBe(72);
    expect(codeOf(() => parseUpdate('x'))).toBe(9);
  });
});

describe('applyUpdate', () => {
  it('returns a new document and leaves the current one untouched', () => {
    const current = { _id: 1, a: { b: 1 }, list: [1] };
    const next = update(current, { $set: { 'a.b': 2 }, $push: { list: 2 } });
    expect(next).toEqual({ _id: 1, a: { b: 2 }, list: [1, 2] });
    expect(current).toEqual({ _id: 1, a: { b: 1 }, list: [1] });
  });

  it('refuses to change _id with ImmutableField', () => {
    expect(codeOf(() => update({ _id: 1 }, { $set: { _id: 2 } }))).toBe(66);
    expect(codeOf(() => update({ _id: 1 }, { _id: 2, a: 1 }))).toBe(66);
    expect(codeOf(() => update({ _id: 1 }, [{ $set: { _id: 2 } }]))).toBe(66);
    expect(update({ _id: 1 }, { $set: { _id: 1, a: 1 } })).toEqual({ _id: 1, a: 1 });
  });

  it('refuses operators on fields of the wrong type', () => {
    const doc = { _id: 1, s: 'text', n: 1 };
    expect(codeOf(() => update(doc, { $inc: { s: 1 } }))).toBe(14);
    expect(codeOf(() => update(doc, { $mul: { s: 2 } }))).toBe(14);
    expect(codeOf(() => update(doc, { $push: { s: 1 } }))).toBe(2);
    expect(codeOf(() => update(doc, { $addToSet: { s: 1 } }))).toBe(2);
    expect(codeOf(() => update(doc, { $pull: { n: 1 } }))).toBe(2);
    expect(codeOf(() => update(doc, { $pullAll: { n: [1] } }))).toBe(2);
    expect(codeOf(() => update(doc, { $pop: { n: 1 } }))).toBe(14);
  });

  it('refuses to create a field inside a value that is not a document', () => {
    const doc = { _id: 1, n: 5, z: null, arr: [1, { k: 1 }] };
    expect(codeOf(() => update(doc, { $set: { 'n.x': 1 } }))).toBe(28);
    expect(codeOf(() => update(doc, { $set: { 'z.x': 1 } }))).toBe(28);
    expect(codeOf(() => update(doc, { $set: { 'arr.x': 1 } }))).toBe(28);
    expect(codeOf(() => update(doc, { $set: { 'arr.0.x': 1 } }))).toBe(28);
    expect(codeOf(() => update(doc, { $rename: { n: 'z.y' } }))).toBe(28);
    expect(update(doc, { $rename: { missing: 'z.y' } })).toEqual(doc);
    expect(update(doc, { $set: { 'arr.1.x': 1 } }).arr).toEqual([1, { k: 1, x: 1 }]);
    expect(update(doc, { $unset: { 'n.x': '' }, $pull: { 'z.x': 1 } })).toEqual(doc);
  });

  it('refuses arithmetic on long and decimal values, which mingo cannot do', () => {
    expect(codeOf(() => update({ _id: 1, n: Long.fromNumber(1) }, { $inc: { n: 1 } }))).toBe(2);
    expect(codeOf(() => update({ _id: 1, n: 1 }, { $inc: { n: Long.fromNumber(1) } }))).toBe(2);
  });

  it('applies the positional $ from the query and fails without a match', () => {
    const doc = {
      _id: 1,
      items: [
        { sku: 'a', qty: 1 },
        { sku: 'b', qty: 1 },
      ],
    };
    expect(update(doc, { $inc: { 'items.$.qty': 5 } }, { 'items.sku': 'b' }).items).toEqual([
      { sku: 'a', qty: 1 },
      { sku: 'b', qty: 6 },
    ]);
    expect(codeOf(() => update(doc, { $set: { 'items.$.qty': 0 } }, { _id: 1 }))).toBe(2);
  });
});

describe('upsertDocument', () => {
  it('seeds the new document from the equality conditions of the query', () => {
    const doc = upsertDocument(
      { _id: 'k', a: 1, 'b.c': 2, $and: [{ d: { $eq: 3 } }], e: { $gt: 4 }, f: { $in: [5, 6] } },
      parseUpdate({ $set: { g: 7 }, $setOnInsert: { h: 8 } }),
    );
    expect(doc).toEqual({ _id: 'k', a: 1, b: { c: 2 }, d: 3, g: 7, h: 8 });
    expect(Object.keys(doc)[0]).toBe('_id');
  });

  it('generates an ObjectId when the query names no _id', () => {
    const doc = upsertDocument({ sku: 'x' }, parseUpdate({ $inc: { n: 1 } }));
    expect(doc._id).toBeInstanceOf(ObjectId);
    expect(doc).toMatchObject({ sku: 'x', n: 1 });
  });

  it('lets $setOnInsert or $set choose the _id', () => {
    expect(upsertDocument({ sku: 'x' }, parseUpdate({ $setOnInsert: { _id: 'k' } }))).toEqual({
      _id: 'k',
      sku: 'x',
    });
    expect(upsertDocument({ sku: 'x' }, parseUpdate({ $set: { _id: 'j', n: 1 } }))).toEqual({
      _id: 'j',
      sku: 'x',
      n: 1,
    });
    expect(upsertDocument({ _id: 'q' }, parseUpdate({ $setOnInsert: { _id: 'q' } }))).toEqual({
      _id: 'q',
    });
  });

  it('takes only the _id from the query for a replacement', () => {
    expect(upsertDocument({ _id: 3, a: 1 }, parseUpdate({ b: 2 }))).toEqual({ _id: 3, b: 2 });
    expect(upsertDocument({ a: 1 }, parseUpdate({ _id: 4, b: 2 }))).toEqual({ _id: 4, b: 2 });
  });

  it('refuses an update the new document cannot take', () => {
    expect(codeOf(() => upsertDocument({ a: 5 }, parseUpdate({ $set: { 'a.b': 1 } })))).toBe(28);
    expect(codeOf(() => upsertDocument({ _id: 1 }, parseUpdate({ $set: { _id: 2 } })))).toBe(66);
  });
});

describe('touchedFields', () => {
  it('names the top-level fields an operator update targets, and nothing for a pipeline', () => {
    expect(
      touchedFields(
        parseUpdate({
          $set: { status: 'X', 'a.b': 1 },
          $push: { history: 1 },
          $rename: { c: 'd.e' },
        }),
      ),
    ).toEqual(new Set(['status', 'a', 'history', 'c', 'd']));
    expect(touchedFields(parseUpdate([{ $set: { a: 1 } }]))).toBeUndefined();
    expect(touchedFields(parseUpdate({ a: 1 }))).toBeUndefined();
  });
});
