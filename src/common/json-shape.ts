/**
 * Limits on the shape of a JSON request body, checked on the raw bytes before the body is parsed:
 * - nesting: the steps after parsing (class-transformer, validation) walk a body recursively, and
 *   a few kilobytes of `[[[[…` would otherwise overflow the stack and answer 500;
 * - fields per object: class-transformer removes duplicate keys with a search per key, quadratic
 *   in an object's fields, so one object of 8,000 unknown keys cost 50 ms of CPU before validation
 *   refused it. No request of this API has an object with more than a dozen fields;
 * - values in all (object fields and array elements): parsing and collecting 100 KB of `{},{},…`
 *   (33,000 objects) cost 4 to 5 ms of CPU, and class-transformer copies every value of a body
 *   before validation refuses its unknown fields (12,000 values, 4 ms). The largest order
 *   (ORDER_MAX_LINES at most 500 lines of two fields) has 1,501.
 */
export const MAX_JSON_DEPTH = 32;
export const MAX_JSON_OBJECT_FIELDS = 64;
export const MAX_JSON_VALUES = 2048;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

export interface JsonShape {
  /** The deepest nesting of objects and arrays. */
  depth: number;
  /** The most fields of one object. */
  fields: number;
  /** Object fields and array elements in all. */
  values: number;
}

/**
 * The shape of `json`, stopping as soon as it passes a limit (the answer then tells which). Outside
 * strings: a colon separates an object's key from its value, so it counts one field of the object
 * it is in; the first byte of a token after `[`, `{` or `,` starts a field or an element, so it
 * counts one value. The text need not be valid JSON (the parser judges that next).
 */
export function jsonShape(
  json: Uint8Array,
  limits: JsonShape = { depth: Infinity, fields: Infinity, values: Infinity },
): JsonShape {
  const fieldsAt: number[] = [0];
  let values = 0;
  let startsValue = false;
  let depth = 0;
  let deepest = 0;
  let widest = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const byte = json[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (startsValue && !isSpace(byte)) {
      // An empty object or array closes without a value.
      startsValue = false;
      if (byte !== CLOSE_BRACE && byte !== CLOSE_BRACKET && ++values > limits.values) break;
    }
    if (byte === QUOTE) {
      inString = true;
    } else if (byte === COMMA) {
      startsValue = true;
    } else if (byte === COLON) {
      const fields = (fieldsAt[depth] ?? 0) + 1;
      fieldsAt[depth] = fields;
      if (fields > widest) {
        widest = fields;
        if (widest > limits.fields) break;
      }
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      startsValue = true;
      depth++;
      fieldsAt[depth] = 0;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limits.depth) break;
      }
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    }
  }
  return { depth: deepest, fields: widest, values };
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/**
 * The body parser's `verify` hook: refuses with 400 a body nested deeper than MAX_JSON_DEPTH, with
 * an object of more than MAX_JSON_OBJECT_FIELDS fields or with more than MAX_JSON_VALUES values.
 */
export function refuseOversizedJson(_req: unknown, _res: unknown, body: Buffer): void {
  const shape = jsonShape(body, {
    depth: MAX_JSON_DEPTH,
    fields: MAX_JSON_OBJECT_FIELDS,
    values: MAX_JSON_VALUES,
  });
  if (shape.depth > MAX_JSON_DEPTH)
    throw Object.assign(new Error(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`), {
      status: 400,
      type: 'entity.too.deep',
    });
  if (shape.fields > MAX_JSON_OBJECT_FIELDS)
    throw Object.assign(new Error(`JSON object with over ${MAX_JSON_OBJECT_FIELDS} fields`), {
      status: 400,
      type: 'entity.too.wide',
    });
  if (shape.values > MAX_JSON_VALUES)
    throw Object.assign(new Error(`JSON with over ${MAX_JSON_VALUES} values`), {
      status: 400,
      type: 'entity.too.many',
    });
}
