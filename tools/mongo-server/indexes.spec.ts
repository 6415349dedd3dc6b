import fc from 'fast-check';
import { Index, defaultIndexName, validateIndexSpec } from './indexes.js';
import { keyOf } from './values.js';

function index(spec: Record<string, unknown>): Index {
  return new Index(
    validateIndexSpec({ name: defaultIndexName(spec.key as Record<string, unknown>), ...spec }),
  );
}

describe('Index entries', () => {
  it('has one entry per distinct array element (multikey)', () => {
    const tags = index({ key: { tags: 1 } });
    expect(tags.entriesFor({ _id: 1, tags: ['a', 'b', 'a'] }).map((e) => e.values)).toEqual([
      ['a'],
      ['b'],
    ]);
    expect(tags.entriesFor({ _id: 1, tags: [] }).map((e) => e.values)).toEqual([[undefined]]);
  });

  it('combines the values of every field of a compound key', () => {
    const compound = index({ key: { a: 1, b: -1 } });
    expect(compound.entriesFor({ a: 1, b: [2, 3] }).map((e) => e.values)).toEqual([
      [1, 2],
      [1, 3],
    ]);
    expect(compound.entriesFor({ a: 'x' }).map((e) => e.values)).toEqual([['x', undefined]]);
  });

  it('leaves documents without the field out of a sparse index', () => {
    const sparse = index({ key: { code: 1 }, sparse: true });
    expect(sparse.entriesFor({ _id: 1 })).toEqual([]);
    expect(sparse.entriesFor({ _id: 1, code: null }).map((e) => e.values)).toEqual([[null]]);
    const compound = index({ key: { a: 1, b: 1 }, sparse: true });
    expect(compound.entriesFor({ b: 1 })).toHaveLength(1);
    expect(compound.entriesFor({ c: 1 })).toEqual([]);
  });

  it('indexes only documents matching the partial filter', () => {
    const partial = index({ key: { email: 1 }, partialFilterExpression: { active: true } });
    expect(partial.entriesFor({ email: 'a', active: false })).toEqual([]);
    expect(partial.entriesFor({ email: 'a' })).toEqual([]);
    expect(partial.entriesFor({ email: 'a', active: true })).toHaveLength(1);
    expect(partial.partialEqualities).toEqual(new Map([['active', keyOf(true)]]));
  });

  it('reads a partial filter of plain equalities, and only that, for the planner', () => {
    const equalities = (partialFilterExpression: Record<string, unknown>) =>
      index({ key: { a: 1 }, partialFilterExpression }).partialEqualities;
    expect(equalities({ $and: [{ s: 'P' }, { p: { $eq: 1 } }] })).toEqual(
      new Map([
        ['s', keyOf('P')],
        ['p', keyOf(1)],
      ]),
    );
    expect(equalities({ s: { $exists: true } })).toBeNull();
    expect(equalities({ n: { $gt: 5 } })).toBeNull();
    expect(equalities({ $or: [{ s: 'P' }, { s: 'Q' }] })).toBeNull();
    expect(equalities({ s: { $in: ['P'] } })).toBeNull();
    expect(equalities({ s: 'P', $and: [{ s: 'Q' }] })).toBeNull();
    expect(index({ key: { a: 1 } }).partialEqualities).toBeUndefined();
  });
});

describe('Index lookups', () => {
  it('finds documents by any prefix of a compound key, every combination of values', () => {
    const compound = index({ key: { u: 1, s: 1, t: -1 } });
    const docs = [
      { _id: 1, u: 'a', s: 'P', t: 1 },
      { _id: 2, u: 'a', s: 'D', t: 2 },
      { _id: 3, u: 'b', s: 'P', t: 3 },
      { _id: 4, u: 'a', s: ['P', 'X'], t: 4 },
    ];
    for (const doc of docs) compound.add(doc, keyOf(doc._id));
    const lookup = (values: unknown[][]) =>
      [...compound.ids(values.length, compound.lookupKeys(values))].sort();
    expect(lookup([['a']])).toEqual([keyOf(1), keyOf(2), keyOf(4)].sort());
    expect(lookup([['a'], ['P']])).toEqual([keyOf(1), keyOf(4)].sort());
    expect(lookup([['a', 'b'], ['P']])).toEqual([keyOf(1), keyOf(3), keyOf(4)].sort());
    // A multikey document under two of the keys is found once.
    expect(lookup([['a'], ['P', 'X']])).toEqual([keyOf(1), keyOf(4)].sort());
    expect(lookup([['a'], ['X'], [4]])).toEqual([keyOf(4)]);
    expect(
      compound.lookupKeys([
        ['a', 'b'],
        ['P', 'D'],
      ]),
    ).toHaveLength(4);
    expect(compound.estimate(2, compound.lookupKeys([['a'], ['P', 'X']]))).toBe(3);

    compound.remove(docs[3], keyOf(4));
    expect(lookup([['a'], ['P']])).toEqual([keyOf(1)]);
    expect(lookup([['a'], ['X']])).toEqual([]);
  });
});

describe('Index uniqueness', () => {
  it('detects a duplicate compound key and reports keyPattern and keyValue', () => {
    const unique = index({ key: { org: 1, user: 1 }, unique: true });
    unique.add({ _id: 1, org: 'o', user: 'u' }, keyOf(1));
    expect(() => unique.checkUnique({ _id: 2, org: 'o', user: 'u' }, keyOf(2), 'db.c')).toThrow(
      expect.objectContaining({
        code: 11000,
        extra: { keyPattern: { org: 1, user: 1 }, keyValue: { org: 'o', user: 'u' } },
      }),
    );
    expect(() =>
      unique.checkUnique({ _id: 2, org: 'o', user: 'v' }, keyOf(2), 'db.c'),
    ).not.toThrow();
    // A document does not collide with itself.
    expect(() =>
      unique.checkUnique({ _id: 1, org: 'o', user: 'u', x: 1 }, keyOf(1), 'db.c'),
    ).not.toThrow();
  });

  it('treats missing fields as null and numbers of any type as equal', () => {
    const unique = index({ key: { a: 1, b: 1 }, unique: true });
    unique.add({ _id: 1, a: 1 }, keyOf(1));
    expect(() => unique.checkUnique({ _id: 2, a: 1.0, b: null }, keyOf(2), 'db.c')).toThrow(
      expect.objectContaining({
        code: 11000,
        extra: expect.objectContaining({ keyValue: { a: 1, b: null } }),
      }),
    );
  });

  it('forgets removed documents', () => {
    const unique = index({ key: { k: 1 }, unique: true });
    const doc = { _id: 1, k: ['a', 'b'] };
    unique.add(doc, keyOf(1));
    expect([...unique.ids(1, unique.lookupKeys([['b']]))]).toEqual([keyOf(1)]);
    unique.remove(doc, keyOf(1));
    expect([...unique.ids(1, unique.lookupKeys([['a', 'b']]))]).toEqual([]);
    expect(() => unique.checkUnique({ _id: 2, k: 'a' }, keyOf(2), 'db.c')).not.toThrow();
  });
});

describe('validateIndexSpec', () => {
  it('refuses malformed specifications', () => {
    expect(() => validateIndexSpec({ key: {}, name: 'x' })).toThrow(
      expect.objectContaining({ code: 9 }),
    );
    expect(() => validateIndexSpec({ key: { a: 0 }, name: 'x' })).toThrow(
      expect.objectContaining({ code: 2 }),
    );
    expect(() => validateIndexSpec({ key: { a: 1 } })).toThrow(
      expect.objectContaining({ code: 9 }),
    );
    expect(validateIndexSpec({ key: { a: 1, b: -1 }, name: 'ab' })).toMatchObject({
      v: 2,
      name: 'ab',
    });
    expect(defaultIndexName({ a: 1, 'b.c': -1 })).toBe('a_1_b.c_-1');
  });
});

describe('date ranges on the first field', () => {
  it('finds exactly the documents whose date is in range, after any adds and removes', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            id: fc.integer({ min: 0, max: 30 }),
            at: fc.oneof(
              fc.integer({ min: 0, max: 50 }),
              fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 3 }),
            ),
            remove: fc.boolean(),
          }),
          { maxLength: 60 },
        ),
        fc.integer({ min: -1, max: 51 }),
        fc.integer({ min: -1, max: 51 }),
        fc.boolean(),
        fc.boolean(),
        (steps, lo, hi, loInclusive, hiInclusive) => {
          const byDate = index({ key: { at: 1, n: -1 } });
          const docs = new Map<number, Record<string, unknown>>();
          const dated = (at: number | number[]) =>
            Array.isArray(at) ? at.map((t) => new Date(t)) : new Date(at);
          for (const step of steps) {
            const current = docs.get(step.id);
            if (current) byDate.remove(current, keyOf(step.id));
            docs.delete(step.id);
            if (step.remove) continue;
            const doc = { _id: step.id, at: dated(step.at), n: step.id };
            byDate.add(doc, keyOf(step.id));
            docs.set(step.id, doc);
          }
          const inRange = (t: number) =>
            (loInclusive ? t >= lo : t > lo) && (hiInclusive ? t <= hi : t < hi);
          const expected = [...docs.values()]
            .filter((doc) =>
              ([] as Date[]).concat(doc.at as Date | Date[]).some((d) => inRange(d.getTime())),
            )
            .map((doc) => keyOf(doc._id))
            .sort();
          const found = [
            ...byDate.dateRangeIds({
              min: { ms: lo, inclusive: loInclusive },
              max: { ms: hi, inclusive: hiInclusive },
            }),
          ];
          expect(found.length).toBe(new Set(found).size);
          expect(found.sort()).toEqual(expected);
        },
      ),
    );
  });
});
