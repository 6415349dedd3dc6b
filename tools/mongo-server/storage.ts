/**
 * Optional persistence for `--dbpath`: an append-only journal of BSON records, written
 * synchronously before a command replies, so an acknowledged write survives the server process
 * being killed. On start the journal is replayed and then compacted to the live data.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deserialize } from 'bson';
import { BSON_READ_OPTIONS, bsonBuffer } from './wire.js';
import { Document } from './values.js';

const JOURNAL = 'journal.bson';
const LOCK = 'mongod.lock';
/** Compact when the journal passes this size and is several times larger than the live data. */
const COMPACT_MIN_BYTES = 64 * 1024 * 1024;
const COMPACT_RATIO = 4;

export type JournalRecord =
  | { o: 'collection'; db: string; c: string; options: Document; uuid: unknown }
  | { o: 'dropCollection'; db: string; c: string }
  | { o: 'dropDatabase'; db: string }
  | { o: 'index'; db: string; c: string; spec: Document }
  | { o: 'dropIndex'; db: string; c: string; name: string }
  | { o: 'put'; db: string; c: string; doc: Document }
  | { o: 'remove'; db: string; c: string; id: unknown };

export class Journal {
  private fd: number;
  private pending: Buffer[] = [];
  private bytes = 0;
  private compactedBytes = 0;

  private constructor(private readonly dir: string) {
    this.fd = fs.openSync(path.join(dir, JOURNAL), 'a');
    this.bytes = fs.fstatSync(this.fd).size;
  }

  /** Takes the directory's lock (refusing a second live server on it) and opens the journal. */
  static open(dir: string): { journal: Journal; records: JournalRecord[] } {
    fs.mkdirSync(dir, { recursive: true });
    acquireLock(path.join(dir, LOCK));
    const file = path.join(dir, JOURNAL);
    const records = fs.existsSync(file) ? readRecords(file) : [];
    return { journal: new Journal(dir), records };
  }

  record(record: JournalRecord): void {
    this.pending.push(bsonBuffer(record));
  }

  /** Writes the records of one command with a single write call. */
  flush(): void {
    if (this.pending.length === 0) return;
    const buffer = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    fs.writeSync(this.fd, buffer);
    this.bytes += buffer.length;
  }

  shouldCompact(): boolean {
    return this.bytes > COMPACT_MIN_BYTES && this.bytes > this.compactedBytes * COMPACT_RATIO;
  }

  /** Rewrites the journal as exactly `records` (the live state), atomically via rename. */
  compact(records: Iterable<JournalRecord>): void {
    this.pending = [];
    const file = path.join(this.dir, JOURNAL);
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    let bytes = 0;
    for (const record of records) bytes += fs.writeSync(fd, bsonBuffer(record));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
    fs.closeSync(this.fd);
    this.fd = fs.openSync(file, 'a');
    this.bytes = bytes;
    this.compactedBytes = bytes;
  }

  close(): void {
    this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    fs.rmSync(path.join(this.dir, LOCK), { force: true });
  }
}

/** Reads whole records; a torn tail from a crash mid-write is dropped. */
function readRecords(file: string): JournalRecord[] {
  const data = fs.readFileSync(file);
  const records: JournalRecord[] = [];
  let offset = 0;
  while (offset + 4 <= data.length) {
    const size = data.readInt32LE(offset);
    if (size < 5 || offset + size > data.length) break;
    records.push(
      deserialize(data.subarray(offset, offset + size), BSON_READ_OPTIONS) as JournalRecord,
    );
    offset += size;
  }
  return records;
}

function acquireLock(lockFile: string): void {
  if (fs.existsSync(lockFile)) {
    const pid = Number(fs.readFileSync(lockFile, 'utf8').trim());
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new Error(`data directory is in use by process ${pid} (${lockFile})`);
    }
  }
  fs.writeFileSync(lockFile, String(process.pid));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
