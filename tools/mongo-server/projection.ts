/**
 * Find and findAndModify projections as mongod applies them, where mingo alone differs: mixed
 * inclusion and exclusion refused with mongod's codes, the positional `$`, `$slice` with
 * exclusions, and fields in document order.
 */
import { Query } from 'mingo';
import { MongoServerError } from './errors.js';
import { QUERY_OPTIONS } from './query-options.js';
import {
  Document,
  cloneValue,
  getPath,
  isOperatorObject,
  isPlainObject,
  setPath,
} from './values.js';

/**
 * mongod refuses a projection that mixes inclusion and exclusion (other than of `_id`); mingo
 * refuses it too but without saying which, so check first and answer with mongod's codes.
 */
export function checkProjection(projection: Document): void {
  let mode: 'inclusion' | 'exclusion' | undefined;
  for (const [field, spec] of Object.entries(projection)) {
    if (field === '_id') continue;
    // $slice and $elemMatch go with either kind; nested projections are left to mingo.
    if (
      isPlainObject(spec) &&
      (!isOperatorObject(spec) || '$slice' in spec || '$elemMatch' in spec)
    ) {
      continue;
    }
    const kind = spec === 0 || spec === false ? 'exclusion' : 'inclusion';
    if (mode && kind !== mode) {
      throw kind === 'exclusion'
        ? new MongoServerError(
            31254,
            `Cannot do exclusion on field ${field} in inclusion projection`,
          )
        : new MongoServerError(
            31253,
            `Cannot do inclusion on field ${field} in exclusion projection`,
          );
    }
    mode = kind;
  }
}

/**
 * Applies a find projection as mongod does where mingo differs: the positional `field.$`
 * projection needs the filter; exclusions and `$slice` (with `_id: 1` allowed) keep every other
 * field, where mingo counts `$slice` and `_id: 1` as inclusions; and fields come in the order
 * the document has them, `_id` first, where mingo uses the order of the projection.
 */
export function projectDocuments(
  docs: Document[],
  projection: Document,
  filter: Document,
): Document[] {
  const fields = Object.entries(projection);
  const excludes = (spec: unknown) => spec === 0 || spec === false;
  const slices = (spec: unknown) => isPlainObject(spec) && Object.keys(spec).join() === '$slice';
  const keepsOthers =
    fields.some(([field]) => field !== '_id') &&
    fields.every(([field, spec]) =>
      field === '_id'
        ? excludes(spec) || spec === 1 || spec === true
        : excludes(spec) || slices(spec),
    );
  if (!keepsOthers) {
    const positional = fields.some(([field]) => field.endsWith('.$'));
    const query = new Query(positional ? filter : {}, QUERY_OPTIONS);
    const projected = query.find(docs, projection).all() as Document[];
    return projected.map((doc, i) => inDocumentOrder(docs[i], doc));
  }
  const exclusion = fields.filter(([, spec]) => excludes(spec));
  const slice = fields.filter(([, spec]) => slices(spec));
  const query = new Query({}, QUERY_OPTIONS);
  const base = exclusion.length
    ? (query.find(docs, Object.fromEntries(exclusion)).all() as Document[])
    : docs;
  const sliced = slice.length
    ? (query.find(docs, Object.fromEntries(slice)).all() as Document[])
    : [];
  return base.map((doc, i) => {
    // A copy, so that setting a nested path never touches the stored document.
    const out = cloneValue(doc);
    for (const [path] of slice) {
      const value = getPath(sliced[i], path);
      if (value !== undefined) setPath(out, path, value);
    }
    return inDocumentOrder(docs[i], out);
  });
}

function inDocumentOrder(source: Document, projected: Document): Document {
  const out: Document = {};
  for (const [key, value] of Object.entries(source)) {
    if (!(key in projected)) continue;
    const shown = projected[key];
    out[key] = isPlainObject(value) && isPlainObject(shown) ? inDocumentOrder(value, shown) : shown;
  }
  for (const [key, value] of Object.entries(projected)) if (!(key in out)) out[key] = value;
  return out;
}
