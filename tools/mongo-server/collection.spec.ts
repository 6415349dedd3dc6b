/**
 * The collection planner: `_id` and indexed equality conditions are answered from an index, so a
 * lookup touches only the matching documents of a large collection instead of scanning it.
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
    expect(count(coll.candidates({ _id: { $in: [1, 2, 1, 2.0] } }))).toBe(2);
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
      // Found by _id, then tested against the rest of the filter.
      { _id: { $in: [5, 7, 50, 500] }, group: 5 },
      { $and: [{ _id: { $in: [5, 50] } }], _id: { $in: [50, 500] } },
      { _id: 50, $or: [{ group: 50 }, { n: -1 }] },
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

describe('Collection planner: compound, multikey, partial and sparse indexes', () => {
  const STATUSES = ['PENDING', 'PAID', 'CANCELLED', 'SHIPPED'];
  const ORDERS = 20_000;
  const USERS = ORDERS / 10;
  let orders: Collection;

  /** Ten orders per user; a user's statuses cycle over its orders, every tenth order is VIP. */
  const order = (i: number): Document => ({
    _id: i,
    userId: `u${i % USERS}`,
    status: STATUSES[Math.floor(i / USERS) % STATUSES.length],
    priority: i % 10 === 0 ? 'VIP' : 'STANDARD',
    createdAt: new Date(i * 1000),
    items: [
      { productId: `p${i % 1000}`, quantity: 1 },
      { productId: `p${(i * 7 + 3) % 1000}`, quantity: 2 },
    ],
    ...(i % 100 === 0 ? { coupon: `c${i % 300}` } : {}),
  });

  /** What a full scan matches, the reference for every lookup. */
  const scanned = (filter: Document): Document[] => {
    const query = new Query(filter);
    return [...orders.all()].filter((doc) => query.test(doc));
  };

  beforeAll(() => {
    orders = Collection.create('db', 'orders', {});
    const index = (spec: Record<string, unknown>) =>
      orders.createIndex(validateIndexSpec({ name: JSON.stringify(spec.key), ...spec }));
    index({ key: { userId: 1, status: 1, createdAt: -1 } });
    index({ key: { status: 1 } });
    index({ key: { priority: 1 } });
    index({
      key: { 'items.productId': 1 },
      partialFilterExpression: { status: 'PENDING', priority: 'VIP' },
    });
    index({ key: { coupon: 1 }, sparse: true });
    for (let i = 0; i < ORDERS; i++) orders.insert(order(i));
  });

  it('looks up the longest equality prefix of a compound index', () => {
    const filter = { userId: 'u42', status: 'PENDING' };
    expect(count(orders.candidates(filter))).toBe(3);
    expect(scanned(filter)).toHaveLength(3);
    // Every combination of $in values, and equality inside $and.
    expect(
      count(orders.candidates({ userId: { $in: ['u1', 'u2'] }, status: { $in: ['PAID', 'X'] } })),
    ).toBe(6);
    expect(count(orders.candidates({ $and: [{ userId: 'u7' }, { status: 'SHIPPED' }] }))).toBe(2);
    // A gap in the prefix (no status) leaves the first field only.
    expect(count(orders.candidates({ userId: 'u1', createdAt: new Date(1000) }))).toBe(10);
  });

  it('falls back to a shorter prefix when the $in combinations would be too many', () => {
    const users = Array.from({ length: 300 }, (_, i) => `u${i}`);
    const filter = { userId: { $in: users }, status: { $in: STATUSES } };
    // 1,200 combinations: looked up by userId alone, ten orders each, still no scan.
    expect(count(orders.candidates(filter))).toBe(3_000);
    expect(orders.match(filter)).toHaveLength(3_000);
  });

  it('picks the index whose lookup finds fewest documents among equally long prefixes', () => {
    // status PENDING holds 6,000 orders, priority VIP 2,000.
    expect(count(orders.candidates({ status: 'PENDING', priority: 'VIP' }))).toBe(2_000);
  });

  it('uses a partial index when the query implies its filter, multikey over subdocuments', () => {
    const filter = {
      'items.productId': { $in: ['p0', 'p10'] },
      status: 'PENDING',
      priority: 'VIP',
    };
    const matching = scanned(filter);
    expect(matching).toHaveLength(12);
    expect(count(orders.candidates(filter))).toBe(12);
    expect(count(orders.candidates({ ...filter, priority: { $in: ['VIP'] } }))).toBe(12);
    // Order 0 holds p0 and p3: found through both keys, returned once.
    expect(count(orders.candidates({ ...filter, 'items.productId': { $in: ['p0', 'p3'] } }))).toBe(
      scanned({ ...filter, 'items.productId': { $in: ['p0', 'p3'] } }).length,
    );
  });

  it('does not use a partial index the query does not imply', () => {
    const filters: Document[] = [
      { 'items.productId': 'p0', status: 'PENDING' },
      { 'items.productId': 'p0', status: 'PENDING', priority: 'STANDARD' },
      { 'items.productId': 'p0', status: 'PENDING', priority: { $in: ['VIP', 'STANDARD'] } },
      { 'items.productId': 'p0', status: 'PENDING', priority: { $ne: 'STANDARD' } },
    ];
    for (const filter of filters) {
      const byId = (docs: Document[]) => docs.map((d) => Number(d._id)).sort((a, b) => a - b);
      expect(byId(orders.match(filter))).toEqual(byId(scanned(filter)));
    }
    // Without priority the status index answers: the 6,000 pending orders, VIP or not.
    expect(count(orders.candidates(filters[0]))).toBe(6_000);
    expect(orders.match(filters[0]).some((d) => d.priority === 'STANDARD')).toBe(true);
  });

  it('uses a sparse index only for values that exclude documents missing the field', () => {
    expect(count(orders.candidates({ coupon: 'c0' }))).toBe(scanned({ coupon: 'c0' }).length);
    expect(count(orders.candidates({ coupon: 'c0' }))).toBe(67);
    expect(count(orders.candidates({ coupon: null }))).toBe(ORDERS);
    expect(count(orders.candidates({ coupon: { $in: ['c0', null] } }))).toBe(ORDERS);
    expect(orders.match({ coupon: null })).toHaveLength(ORDERS - ORDERS / 100);
  });

  it('keeps every prefix current through replace and remove', () => {
    const current = orders.findById(42);
    if (!current) throw new Error('order 42 is missing');
    expect(current.status).toBe('PENDING');
    orders.replace(current, { ...current, status: 'PAID' });
    expect(orders.match({ userId: 'u42', status: 'PENDING' })).toHaveLength(2);
    expect(orders.match({ userId: 'u42', status: 'PAID' }).map((d) => d._id)).toContain(42);
    const paid = orders.findById(42);
    if (!paid) throw new Error('order 42 is missing');
    orders.remove(paid);
    expect(count(orders.candidates({ userId: 'u42', status: 'PAID' }))).toBe(3);
    expect(count(orders.candidates({ userId: 'u42' }))).toBe(9);
    orders.insert(order(42));
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

describe('Collection.replace with the fields an update touched', () => {
  const lookup = (coll: Collection, filter: Document) =>
    [...coll.candidates(filter)].filter((doc) => new Query(filter).test(doc)).map((d) => d._id);

  it('keeps the entries of indexes the update did not touch, and moves those it did', () => {
    const coll = Collection.create('db', 'touched', {});
    coll.createIndex(validateIndexSpec({ key: { status: 1, at: -1 }, name: 'status_at' }));
    coll.createIndex(
      validateIndexSpec({
        key: { owner: 1 },
        name: 'open_by_owner',
        partialFilterExpression: { open: true },
      }),
    );
    const doc = { _id: 1, status: 'A', at: 1, owner: 'x', open: true, note: '' };
    coll.insert(doc);
    // Only `note` changes: no index depends on it.
    const noted = { ...doc, note: 'hello' };
    coll.replace(doc, noted, new Set(['note']));
    expect(lookup(coll, { status: 'A' })).toEqual([1]);
    expect(lookup(coll, { owner: 'x', open: true })).toEqual([1]);
    // `status` changes: its index follows.
    const moved = { ...noted, status: 'B' };
    coll.replace(noted, moved, new Set(['status']));
    expect(lookup(coll, { status: 'A' })).toEqual([]);
    expect(lookup(coll, { status: 'B' })).toEqual([1]);
    // The partial filter's field changes: the document leaves the partial index.
    const closed = { ...moved, open: false };
    coll.replace(moved, closed, new Set(['open']));
    expect(lookup(coll, { owner: 'x', open: true })).toEqual([]);
  });
});
