/**
 * The collection planner: `_id` and indexed equality conditions are answered from an index, so a
 * point lookup touches only the matching documents instead of scanning the collection.
 */
import { Query } from 'mingo';
import { Collection } from './collection.js';
import { validateIndexSpec } from './indexes.js';
import { Document } from './values.js';

const SIZE = 50_000;

function count(docs: Iterable<Document>): number {
  let n = 0;
  for (const _doc of docs) n++;
  return n;
}

describe('Collection planner', () => {
  let coll: Collection;

  beforeAll(() => {
    coll = Collection.create('db', 'items', {});
    coll.createIndex(validateIndexSpec({ key: { sku: 1 }, name: 'sku_1' }));
    coll.createIndex(validateIndexSpec({ key: { group: 1, n: -1 }, name: 'group_n' }));
    coll.createIndex(validateIndexSpec({ key: { opt: 1 }, name: 'opt_1', sparse: true }));
    for (let i = 0; i < SIZE; i++) {
      coll.insert({
        _id: i,
        sku: `s${i % 10_000}`,
        group: i % 100,
        n: i,
        ...(i % 2 ? { opt: i % 3 } : {}),
      });
    }
  });

  it('holds every document', () => {
    expect(coll.size).toBe(SIZE);
  });

  it('finds a document by _id without scanning', () => {
    expect([...coll.candidates({ _id: 12_345 })]).toEqual([coll.findById(12_345)]);
    expect(count(coll.candidates({ _id: { $in: [1, 2, 3, 'missing'] } }))).toBe(3);
    expect(count(coll.candidates({ _id: { $eq: 7 }, sku: 's7' }))).toBe(1);
  });

  it('answers equality on an indexed field from the index', () => {
    const found = [...coll.candidates({ sku: 's42' })];
    expect(found.map((d) => d._id).sort((a, b) => Number(a) - Number(b))).toEqual([
      42, 10_042, 20_042, 30_042, 40_042,
    ]);
    expect(count(coll.candidates({ sku: { $eq: 's9' } }))).toBe(5);
    expect(count(coll.candidates({ sku: { $in: ['s1', 's2', 's3', 'none'] } }))).toBe(15);
    expect(count(coll.candidates({ $and: [{ sku: 's7' }, { n: { $gt: 10 } }] }))).toBe(5);
    expect(count(coll.candidates({ sku: 's7', n: { $gt: 10 } }))).toBe(5);
  });

  it('uses the first field of a compound index', () => {
    expect(count(coll.candidates({ group: 7 }))).toBe(SIZE / 100);
    expect(count(coll.candidates({ group: { $in: [1, 2] }, n: { $lt: 100 } }))).toBe(
      (2 * SIZE) / 100,
    );
  });

  it('scans when no index can answer the filter', () => {
    expect(count(coll.candidates({ unindexed: 1 }))).toBe(SIZE);
    expect(count(coll.candidates({ sku: /^s1/ }))).toBe(SIZE);
    expect(count(coll.candidates({ sku: { $gt: 's5' } }))).toBe(SIZE);
    expect(count(coll.candidates({ $or: [{ sku: 's1' }, { sku: 's2' }] }))).toBe(SIZE);
    // A second field of a compound index alone cannot use it.
    expect(count(coll.candidates({ n: 5 }))).toBe(SIZE);
    // A sparse index lacks the documents without the field, which {opt: null} must find.
    expect(count(coll.candidates({ opt: null }))).toBe(SIZE);
  });

  it('matches exactly what a full scan matches', () => {
    const filters: Document[] = [
      { sku: 's42' },
      { sku: { $in: ['s1', 's2'] }, n: { $gte: 20_000 } },
      { group: 3, n: { $lt: 1_000 } },
      { _id: { $in: [5, 50, 500] } },
      { opt: 2 },
      { opt: null, group: 4 },
    ];
    // Without a sort the order is the index's, as in mongod: compare by _id.
    const byId = (docs: Document[]) => docs.slice().sort((a, b) => Number(a._id) - Number(b._id));
    for (const filter of filters) {
      const query = new Query(filter);
      const scanned = [...coll.all()].filter((doc) => query.test(doc));
      expect(scanned.length).toBeGreaterThan(0);
      expect(byId(coll.match(filter))).toEqual(byId(scanned));
    }
    expect(coll.match({ sku: 's42' }, 2)).toHaveLength(2);
  });

  it('keeps the indexes current through replace and remove', () => {
    const current = coll.findById(1);
    if (!current) throw new Error('document 1 is missing');
    coll.replace(current, { ...current, sku: 'moved' });
    expect(coll.match({ sku: 'moved' }).map((d) => d._id)).toEqual([1]);
    expect(coll.match({ sku: 's1' }).map((d) => d._id)).not.toContain(1);

    const moved = coll.findById(1);
    if (!moved) throw new Error('document 1 is missing');
    coll.remove(moved);
    expect(coll.match({ sku: 'moved' })).toEqual([]);
    expect(coll.size).toBe(SIZE - 1);
  });
});

describe('Collection writes', () => {
  it('rejects a duplicate _id and a unique index violation without changing anything', () => {
    const coll = Collection.create('db', 'unique', {});
    coll.createIndex(validateIndexSpec({ key: { email: 1 }, name: 'email_1', unique: true }));
    coll.insert({ _id: 1, email: 'a' });
    expect(() => coll.insert({ _id: 1, email: 'b' })).toThrow(
      expect.objectContaining({
        code: 11000,
        extra: { keyPattern: { _id: 1 }, keyValue: { _id: 1 } },
      }),
    );
    expect(() => coll.insert({ _id: 2, email: 'a' })).toThrow(
      expect.objectContaining({
        code: 11000,
        extra: { keyPattern: { email: 1 }, keyValue: { email: 'a' } },
      }),
    );
    coll.insert({ _id: 3, email: 'c' });
    const third = coll.findById(3);
    if (!third) throw new Error('document 3 is missing');
    expect(() => coll.replace(third, { _id: 3, email: 'a' })).toThrow(
      expect.objectContaining({ code: 11000 }),
    );
    expect(coll.match({ email: 'c' })).toEqual([{ _id: 3, email: 'c' }]);
    expect(coll.size).toBe(2);
  });

  it('refuses to build a unique index over duplicates', () => {
    const coll = Collection.create('db', 'dups', {});
    coll.insert({ _id: 1, k: 1 });
    coll.insert({ _id: 2, k: 1 });
    expect(() =>
      coll.createIndex(validateIndexSpec({ key: { k: 1 }, name: 'k_1', unique: true })),
    ).toThrow(expect.objectContaining({ code: 11000 }));
    expect(coll.indexSpecs().map((s) => s.name)).toEqual(['_id_']);
  });
});
