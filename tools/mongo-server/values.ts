/**
 * Helpers over deserialized BSON values: canonical keys for index lookups, copy-on-write cloning,
 * and path traversal with MongoDB's implicit array expansion.
 */
import { EJSON } from 'bson';

export type Document = Record<string, unknown>;

interface BsonValue {
  _bsontype: string;
  toString(): string;
}

export function isBsonValue(value: unknown): value is BsonValue {
  return typeof value === 'object' && value !== null && '_bsontype' in value;
}

export function isPlainObject(value: unknown): value is Document {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** True when a query value is an operator expression such as `{$gt: 1}`. */
export function isOperatorObject(value: unknown): value is Document {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys[0].startsWith('$');
}

/**
 * A string that is equal for two values exactly when MongoDB's index compares them as equal:
 * numbers of any BSON numeric type with the same value share a key, a missing field keys as null.
 */
export function keyOf(value: unknown): string {
  if (value === undefined || value === null) return 'z';
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? 'n0' : `n${value}`;
    case 'bigint':
      return `n${value}`;
    case 'string':
      return `s${value}`;
    case 'boolean':
      return value ? 'b1' : 'b0';
    default:
      break;
  }
  if (value instanceof Date) return `d${value.getTime()}`;
  if (value instanceof RegExp) return `r${value.source}/${value.flags}`;
  if (Array.isArray(value)) return `a[${value.map(keyOf).join(',')}]`;
  if (isBsonValue(value)) {
    switch (value._bsontype) {
      case 'ObjectId':
        return `o${value.toString()}`;
      case 'Long':
      case 'Int32':
      case 'Double':
        return `n${value.toString()}`;
      case 'Decimal128': {
        const asNumber = Number(value.toString());
        return Number.isNaN(asNumber) ? `m${value.toString()}` : `n${asNumber}`;
      }
      default:
        return `${value._bsontype}:${EJSON.stringify(value, { relaxed: false })}`;
    }
  }
  if (isPlainObject(value)) {
    return `O{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${keyOf(v)}`)
      .join(',')}}`;
  }
  // Functions and symbols cannot come out of BSON; anything else left is keyed by its type.
  return `u${typeof value}`;
}

/** Deep copy of plain objects and arrays; BSON value objects are immutable and shared. */
export function cloneValue<T>(value: T): T {
  if (Array.isArray(value)) return value.map(cloneValue) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (isPlainObject(value)) {
    const copy: Document = {};
    for (const [k, v] of Object.entries(value)) copy[k] = cloneValue(v);
    return copy as T;
  }
  return value;
}

/**
 * Every value reachable at a dotted path, expanding arrays along the way as MongoDB's multikey
 * indexes do. A path that reaches nothing yields `[undefined]`.
 */
export function valuesAtPath(doc: unknown, path: string): unknown[] {
  const out: unknown[] = [];
  collect(doc, path.split('.'), 0, out);
  return out.length > 0 ? out : [undefined];
}

function collect(value: unknown, parts: string[], i: number, out: unknown[]): void {
  if (i === parts.length) {
    if (Array.isArray(value)) {
      if (value.length === 0) out.push(undefined);
      else out.push(...(value as unknown[]));
    } else {
      out.push(value);
    }
    return;
  }
  if (Array.isArray(value)) {
    if (/^\d+$/.test(parts[i]) && Number(parts[i]) < value.length) {
      collect(value[Number(parts[i])], parts, i + 1, out);
    }
    for (const element of value) collect(element, parts, i, out);
    return;
  }
  if (isPlainObject(value) && parts[i] in value) collect(value[parts[i]], parts, i + 1, out);
}

/** The value at a dotted path without array expansion, for building upserted documents. */
export function setPath(doc: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let target = doc;
  for (const part of parts.slice(0, -1)) {
    const next = target[part];
    if (!isPlainObject(next)) {
      const created: Document = {};
      target[part] = created;
      target = created;
    } else {
      target = next;
    }
  }
  target[parts[parts.length - 1]] = value;
}

export function getPath(doc: unknown, path: string): unknown {
  let value = doc;
  for (const part of path.split('.')) {
    if (!isPlainObject(value)) return undefined;
    value = value[part];
  }
  return value;
}

/** MongoDB keeps `_id` as the first field of every stored document. */
export function withIdFirst(doc: Document, id: unknown): Document {
  const out: Document = { _id: id };
  for (const [k, v] of Object.entries(doc)) if (k !== '_id') out[k] = v;
  return out;
}

export function isNumeric(value: unknown): boolean {
  if (typeof value === 'number' || typeof value === 'bigint') return true;
  return isBsonValue(value) && ['Long', 'Int32', 'Double', 'Decimal128'].includes(value._bsontype);
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  if (isBsonValue(value)) return value._bsontype.toLowerCase();
  if (typeof value === 'object') return 'object';
  return typeof value;
}
