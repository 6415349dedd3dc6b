import { Decimal128, Double, Int32, Long, ObjectId } from 'bson';
import { cloneValue, getPath, keyOf, setPath, valuesAtPath, withIdFirst } from './values.js';

describe('keyOf', () => {
  it('gives numbers of every BSON type with the same value the same key', () => {
    const one = keyOf(1);
    for (const value of [
      1.0,
      Long.fromNumber(1),
      Decimal128.fromString('1'),
      Decimal128.fromString('1.0'),
      new Int32(1),
      new Double(1),
    ]) {
      expect(keyOf(value)).toBe(one);
    }
    expect(keyOf(0)).toBe(keyOf(-0));
    expect(keyOf(Long.fromString('9007199254740993'))).not.toBe(keyOf(9007199254740992));
    expect(keyOf(1.5)).not.toBe(one);
  });

  it('keeps strings, booleans and numbers apart', () => {
    expect(keyOf('1')).not.toBe(keyOf(1));
    expect(keyOf(true)).not.toBe(keyOf(1));
    expect(keyOf('true')).not.toBe(keyOf(true));
  });

  it('gives null and a missing value the same key', () => {
    expect(keyOf(null)).toBe(keyOf(undefined));
    expect(keyOf(null)).not.toBe(keyOf(0));
    expect(keyOf(null)).not.toBe(keyOf(''));
  });

  it('compares ObjectIds, dates, arrays and documents by value', () => {
    const id = new ObjectId();
    expect(keyOf(new ObjectId(id.toHexString()))).toBe(keyOf(id));
    expect(keyOf(id)).not.toBe(keyOf(id.toHexString()));
    expect(keyOf(new Date(5))).toBe(keyOf(new Date(5)));
    expect(keyOf(new Date(5))).not.toBe(keyOf(5));
    expect(keyOf([1, 'a'])).toBe(keyOf([Long.fromNumber(1), 'a']));
    expect(keyOf({ a: 1, b: 2 })).toBe(keyOf({ a: 1.0, b: 2 }));
    // Embedded documents compare field by field in order, as in MongoDB.
    expect(keyOf({ a: 1, b: 2 })).not.toBe(keyOf({ b: 2, a: 1 }));
  });
});

describe('valuesAtPath', () => {
  it('expands arrays along the path, as multikey indexes do', () => {
    const doc = { a: [{ b: 1 }, { b: [2, 3] }, { c: 4 }], d: { e: 5 }, f: [] };
    expect(valuesAtPath(doc, 'a.b')).toEqual([1, 2, 3]);
    expect(valuesAtPath(doc, 'd.e')).toEqual([5]);
    expect(valuesAtPath(doc, 'a.0.b')).toEqual([1]);
    expect(valuesAtPath(doc, 'missing')).toEqual([undefined]);
    expect(valuesAtPath(doc, 'f')).toEqual([undefined]);
    expect(valuesAtPath({ a: null }, 'a')).toEqual([null]);
  });
});

describe('document helpers', () => {
  it('reads and creates dotted paths', () => {
    const doc: Record<string, unknown> = { a: { b: 1 }, s: 'x' };
    expect(getPath(doc, 'a.b')).toBe(1);
    expect(getPath(doc, 's.length')).toBeUndefined();
    setPath(doc, 'a.c.d', 2);
    setPath(doc, 'e', 3);
    expect(doc).toEqual({ a: { b: 1, c: { d: 2 } }, s: 'x', e: 3 });
  });

  it('deep-copies documents, arrays and dates but shares immutable BSON values', () => {
    const id = new ObjectId();
    const doc = { nested: { list: [1, { x: 2 }] }, when: new Date(7), id };
    const copy = cloneValue(doc);
    expect(copy).toEqual(doc);
    expect(copy.nested).not.toBe(doc.nested);
    expect(copy.nested.list[1]).not.toBe(doc.nested.list[1]);
    expect(copy.when).not.toBe(doc.when);
    expect(copy.id).toBe(id);
  });

  it('puts _id first', () => {
    expect(Object.keys(withIdFirst({ a: 1, _id: 2, b: 3 }, 2))).toEqual(['_id', 'a', 'b']);
  });
});
