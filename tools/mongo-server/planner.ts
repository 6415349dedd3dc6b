/**
 * The query planner: which values a filter pins its paths to, and which secondary index (if any)
 * finds a superset of the matching documents by key lookups instead of a collection scan.
 * Candidates are always matched against the whole filter afterwards, so a plan only has to be a
 * superset; these rules keep it one.
 */
import { Index, indexable } from './indexes.js';
import type { DateBounds } from './indexes.js';
import { Document, isOperatorObject, isPlainObject, keyOf } from './values.js';

/**
 * Upper bound on the key combinations one lookup builds from `$in` lists on several fields of a
 * compound index; past it the plan uses a shorter prefix of the index.
 */
export const MAX_LOOKUP_KEYS = 1000;

/**
 * Paths the filter pins to a finite set of values, from top-level and `$and` conditions of the
 * form `{path: value}`, `{path: {$eq: value}}` and `{path: {$in: [...]}}`. Only values an index
 * can find by key qualify: no regular expressions (pattern match), no arrays (whole-array match).
 */
export function equalityConditions(filter: Document): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  const visit = (conditions: Document): void => {
    for (const [path, cond] of Object.entries(conditions)) {
      if (path === '$and' && Array.isArray(cond)) {
        for (const clause of cond) if (isPlainObject(clause)) visit(clause);
        continue;
      }
      if (path.startsWith('$') || out.has(path)) continue;
      const values = pinnedValues(cond);
      if (values) out.set(path, values);
    }
  };
  visit(filter);
  return out;
}

/**
 * The values a top-level `_id` condition by value, `$eq` or `$in` (and nothing else) pins `_id`
 * to: the _id map finds exactly the documents that satisfy it. Undefined for any other shape.
 */
export function idLookupValues(filter: Document): unknown[] | undefined {
  if (!('_id' in filter)) return undefined;
  const cond = filter._id;
  if (isOperatorObject(cond)) {
    const ops = Object.keys(cond);
    if (ops.length !== 1 || (ops[0] !== '$eq' && ops[0] !== '$in')) return undefined;
  }
  return pinnedValues(cond) ?? undefined;
}

function pinnedValues(cond: unknown): unknown[] | null {
  if (isOperatorObject(cond)) {
    if ('$eq' in cond) return indexable(cond.$eq) ? [cond.$eq] : null;
    const candidates: unknown = cond.$in;
    if (Array.isArray(candidates) && candidates.every(indexable)) return candidates as unknown[];
    return null;
  }
  return indexable(cond) ? [cond] : null;
}

interface Plan {
  index: Index;
  /** How many leading fields of the index the lookup keys cover. */
  fields: number;
  keys: string[];
  /** Conditions of the filter the index answers: its equality prefix and its partial filter. */
  score: number;
  /** Documents the lookup would return, counting a multikey document once per key. */
  estimate: number;
}

/**
 * Ids of the documents that may match a filter with these equalities, through the index with the
 * longest usable equality prefix (a partial filter the query implies counts towards it); among
 * equals, the one whose lookup returns fewest documents. Undefined when no index applies.
 */
export function indexLookup(
  indexes: Iterable<Index>,
  equalities: Map<string, unknown[]>,
): Iterable<string> | undefined {
  let best: Plan | undefined;
  for (const index of indexes) {
    const plan = planFor(index, equalities);
    if (!plan) continue;
    if (
      !best ||
      plan.score > best.score ||
      (plan.score === best.score && plan.estimate < best.estimate)
    ) {
      best = plan;
    }
  }
  return best?.index.ids(best.fields, best.keys);
}

function planFor(index: Index, equalities: Map<string, unknown[]>): Plan | undefined {
  if (!index.lookupable) return undefined;
  // A partial index lacks the documents outside its filter: usable only when the query's own
  // equalities guarantee every match is inside it.
  const partial = index.partialEqualities;
  if (partial === null) return undefined;
  if (partial) {
    for (const [path, key] of partial) {
      const values = equalities.get(path);
      if (!values || !values.every((v) => keyOf(v) === key)) return undefined;
    }
  }
  const prefix: unknown[][] = [];
  let combinations = 1;
  for (const field of index.fields) {
    const values = equalities.get(field);
    if (!values) break;
    const distinct = distinctValues(values);
    if (prefix.length > 0 && combinations * distinct.length > MAX_LOOKUP_KEYS) break;
    combinations *= distinct.length;
    prefix.push(distinct);
  }
  if (prefix.length === 0) return undefined;
  // A sparse index lacks documents missing all its fields; a prefix field pinned to non-null
  // values only excludes those documents from the result anyway.
  if (index.spec.sparse && !prefix.some((values) => values.every((v) => v !== null))) {
    return undefined;
  }
  const keys = index.lookupKeys(prefix);
  return {
    index,
    fields: prefix.length,
    keys,
    score: prefix.length + (partial?.size ?? 0),
    estimate: index.estimate(prefix.length, keys),
  };
}

function distinctValues(values: unknown[]): unknown[] {
  const seen = new Map<string, unknown>();
  for (const value of values) {
    const key = keyOf(value);
    if (!seen.has(key)) seen.set(key, value);
  }
  return [...seen.values()];
}

/**
 * A top-level condition that bounds a path by dates and nothing else (`{createdAt: {$gte: d1,
 * $lt: d2}}`, one bound or both), and a full index (no partial filter: it would miss documents)
 * whose first field is that path: the documents in range are read from it. Undefined when the
 * filter has no such condition or no index fits.
 */
export function dateRangeLookup(
  indexes: Iterable<Index>,
  filter: Document,
): Iterable<string> | undefined {
  for (const [path, cond] of Object.entries(filter)) {
    if (path.startsWith('$') || !isOperatorObject(cond)) continue;
    const bounds = dateBounds(cond);
    if (!bounds) continue;
    for (const index of indexes)
      if (index.lookupable && !index.spec.partialFilterExpression && index.fields[0] === path)
        return index.dateRangeIds(bounds);
  }
  return undefined;
}

function dateBounds(cond: Document): DateBounds | undefined {
  const bounds: DateBounds = {};
  for (const [op, value] of Object.entries(cond)) {
    if (!(value instanceof Date)) return undefined;
    const ms = value.getTime();
    if (op === '$gte' || op === '$gt') {
      if (bounds.min) return undefined;
      bounds.min = { ms, inclusive: op === '$gte' };
    } else if (op === '$lte' || op === '$lt') {
      if (bounds.max) return undefined;
      bounds.max = { ms, inclusive: op === '$lte' };
    } else return undefined;
  }
  return bounds.min || bounds.max ? bounds : undefined;
}
