import {
  MAX_JSON_VALUES,
  MAX_JSON_DEPTH,
  MAX_JSON_OBJECT_FIELDS,
  jsonShape,
  refuseOversizedJson,
} from './json-shape.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');
const NONE = { depth: Infinity, fields: Infinity, values: Infinity };
const depth = (text: string, limit = Infinity) =>
  jsonShape(bytes(text), { ...NONE, depth: limit }).depth;
const fields = (text: string, limit = Infinity) =>
  jsonShape(bytes(text), { ...NONE, fields: limit }).fields;
const values = (text: string, limit = Infinity) =>
  jsonShape(bytes(text), { ...NONE, values: limit }).values;

describe('jsonShape', () => {
  it('counts nested objects and arrays', () => {
    expect(depth('1')).toBe(0);
    expect(depth('{"a":[1,{"b":[]}]}')).toBe(4);
    expect(depth('[[],[],[[]]]')).toBe(3);
  });

  it('counts the fields of the widest object, whatever its depth', () => {
    expect(fields('[]')).toBe(0);
    expect(fields('{"a":1,"b":{"c":1,"d":2,"e":3},"f":2}')).toBe(3);
    expect(fields('[{"a":1},{"a":1,"b":2}]')).toBe(2);
    // An object's count goes on after a nested one closes.
    expect(fields('{"a":{"x":1},"b":1,"c":1,"d":1}')).toBe(4);
  });

  it('counts object fields and array elements in all', () => {
    expect(values('"[{,"')).toBe(0);
    expect(values('[]')).toBe(0);
    expect(values('{ }')).toBe(0);
    expect(values('[1]')).toBe(1);
    expect(values('{"a":[{},{},[]],"b":{}}')).toBe(5);
    expect(values('{ "a" : [ 1 , "x,y" , { "b" : null } ] }')).toBe(5);
    expect(values('[[[]]]')).toBe(2);
  });

  it('ignores brackets and colons inside strings, escaped quotes included', () => {
    expect(depth('{"a":"[[[{{{"}')).toBe(1);
    expect(depth('{"a":"\\"[[[","b":"\\\\"}')).toBe(1);
    expect(fields('{"a:b:c":"d:e:f"}')).toBe(1);
  });

  it('stops once past a limit', () => {
    expect(depth('['.repeat(10_000), 5)).toBe(6);
    expect(fields(`{${'"k":1,'.repeat(10_000)}}`, 5)).toBe(6);
    expect(values(`[${'{},'.repeat(10_000)}{}]`, 5)).toBe(6);
  });
});

describe('refuseOversizedJson', () => {
  it('lets a body at the depth limit through and refuses one level more with 400', () => {
    const nested = (levels: number) => bytes('['.repeat(levels) + ']'.repeat(levels));
    expect(() => refuseOversizedJson(undefined, undefined, nested(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => refuseOversizedJson(undefined, undefined, nested(MAX_JSON_DEPTH + 1))).toThrow(
      expect.objectContaining({ status: 400, type: 'entity.too.deep' }),
    );
  });

  it('lets an object of MAX_JSON_OBJECT_FIELDS fields through and refuses one more with 400', () => {
    const wide = (n: number) =>
      bytes(
        JSON.stringify({
          items: [Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))],
        }),
      );
    expect(() =>
      refuseOversizedJson(undefined, undefined, wide(MAX_JSON_OBJECT_FIELDS)),
    ).not.toThrow();
    expect(() =>
      refuseOversizedJson(undefined, undefined, wide(MAX_JSON_OBJECT_FIELDS + 1)),
    ).toThrow(expect.objectContaining({ status: 400, type: 'entity.too.wide' }));
  });

  it('lets MAX_JSON_VALUES values through and refuses one more with 400', () => {
    const many = (n: number) =>
      bytes(JSON.stringify({ items: Array.from({ length: n - 1 }, () => 0) }));
    expect(() => refuseOversizedJson(undefined, undefined, many(MAX_JSON_VALUES))).not.toThrow();
    expect(() => refuseOversizedJson(undefined, undefined, many(MAX_JSON_VALUES + 1))).toThrow(
      expect.objectContaining({ status: 400, type: 'entity.too.many' }),
    );
  });
});
