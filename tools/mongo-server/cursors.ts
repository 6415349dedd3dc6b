/** Server-side cursors for find, aggregate and the list commands, with getMore paging. */
import { calculateObjectSize, Long } from 'bson';
import { ErrorCodes, MongoServerError } from './errors.js';
import { Document } from './values.js';

const DEFAULT_FIRST_BATCH = 101;
/** Leave room for the reply envelope inside the 16 MiB document limit. */
const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 16 * 1024;
const IDLE_TIMEOUT_MS = 10 * 60 * 1000;

interface OpenCursor {
  ns: string;
  docs: Document[];
  position: number;
  lastUsed: number;
}

export class CursorRegistry {
  private readonly open = new Map<string, OpenCursor>();
  private nextId = 1n + BigInt(Math.floor(Math.random() * 2 ** 40));

  /** First batch of a result set; the rest stays open under a cursor id unless `singleBatch`. */
  firstBatch(
    ns: string,
    docs: Document[],
    batchSize: number | undefined,
    singleBatch = false,
  ): Document {
    const cursor: OpenCursor = { ns, docs, position: 0, lastUsed: Date.now() };
    // batchSize 0 opens the cursor with an empty first batch, as in mongod.
    const firstBatch = batchSize === 0 ? [] : takeBatch(cursor, batchSize ?? DEFAULT_FIRST_BATCH);
    let id = Long.ZERO;
    if (!singleBatch && cursor.position < docs.length) {
      id = Long.fromBigInt(this.nextId++);
      this.open.set(id.toString(), cursor);
    }
    return { cursor: { firstBatch, id, ns }, ok: 1 };
  }

  getMore(rawId: unknown, collection: string, db: string, batchSize: number | undefined): Document {
    this.expireIdle();
    const key = String(rawId);
    const cursor = this.open.get(key);
    if (!cursor || (cursor.ns !== `${db}.${collection}` && !cursor.ns.startsWith(`${db}.$cmd`))) {
      throw new MongoServerError(ErrorCodes.CursorNotFound, `cursor id ${key} not found`);
    }
    cursor.lastUsed = Date.now();
    const nextBatch = takeBatch(cursor, batchSize ?? 0);
    let id = Long.fromString(key);
    if (cursor.position >= cursor.docs.length) {
      this.open.delete(key);
      id = Long.ZERO;
    }
    return { cursor: { nextBatch, id, ns: cursor.ns }, ok: 1 };
  }

  kill(ids: unknown[]): Document {
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const raw of ids) {
      const key = String(raw);
      (this.open.delete(key) ? killed : notFound).push(Long.fromString(key));
    }
    return {
      cursorsKilled: killed,
      cursorsNotFound: notFound,
      cursorsAlive: [],
      cursorsUnknown: [],
      ok: 1,
    };
  }

  /** Closes cursors over a dropped collection or database (`nsPrefix` ends with '.'). */
  closeNamespace(ns: string, nsPrefix = false): void {
    for (const [id, cursor] of this.open) {
      if (nsPrefix ? cursor.ns.startsWith(ns) : cursor.ns === ns) this.open.delete(id);
    }
  }

  private expireIdle(): void {
    const cutoff = Date.now() - IDLE_TIMEOUT_MS;
    for (const [id, cursor] of this.open) if (cursor.lastUsed < cutoff) this.open.delete(id);
  }
}

function takeBatch(cursor: OpenCursor, batchSize: number): Document[] {
  const batch: Document[] = [];
  let bytes = 0;
  while (cursor.position < cursor.docs.length && (batchSize <= 0 || batch.length < batchSize)) {
    const doc = cursor.docs[cursor.position];
    bytes += calculateObjectSize(doc);
    if (batch.length > 0 && bytes > MAX_BATCH_BYTES) break;
    batch.push(doc);
    cursor.position++;
  }
  return batch;
}
