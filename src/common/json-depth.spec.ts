import { MAX_JSON_DEPTH, jsonDepth, refuseDeepJson } from './json-depth.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('jsonDepth', () => {
  it('counts nested objects and arrays', () => {
    expect(jsonDepth(bytes('1'))).toBe(0);
    expect(jsonDepth(bytes('{"a":[1,{"b":[]}]}'))).toBe(4);
    expect(jsonDepth(bytes('[[],[],[[]]]'))).toBe(3);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonDepth(bytes('{"a":"[[[{{{"}'))).toBe(1);
    expect(jsonDepth(bytes('{"a":"\\"[[[","b":"\\\\"}'))).toBe(1);
  });

  it('stops counting once past the limit', () => {
    expect(jsonDepth(bytes('['.repeat(10_000)), 5)).toBe(6);
  });
});

describe('refuseDeepJson', () => {
  it('lets a body at the limit through and refuses one level more with 400', () => {
    const nested = (levels: number) => bytes('['.repeat(levels) + ']'.repeat(levels));
    expect(() => refuseDeepJson(undefined, undefined, nested(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => refuseDeepJson(undefined, undefined, nested(MAX_JSON_DEPTH + 1))).toThrow(
      expect.objectContaining({ status: 400, type: 'entity.too.deep' }),
    );
  });
});
