/**
 * Reads the client → server half of a MongoDB connection and yields each command message as it
 * completes: OP_MSG, or legacy OP_QUERY (handshakes). The command is the first key of its body
 * document. Messages may arrive split across chunks or many to a chunk.
 */
import { Document, deserialize } from 'bson';
import { CommandReader, Parsed, ProtocolError } from './wire.js';

export type MongoCommandKind = 'data' | 'control' | 'unknown';

export interface MongoCommand {
  /** The first key of the body: "find", "insert", "hello"...; for unknown messages "OP_<code>". */
  name: string;
  /** control: handshake, authentication and monitoring; unknown: a message this reader cannot open. */
  kind: MongoCommandKind;
  /** The collection a data command targets, when it names one. */
  collection?: string;
  /** The body document as sent (OP_MSG section 0, or the OP_QUERY query). */
  body?: Document;
}

const OP_QUERY = 2004;
const OP_MSG = 2013;
const HEADER = 16;
const CHECKSUM_PRESENT = 1;
/** The server's maxMessageSizeBytes; a longer length means the stream is not MongoDB's. */
const MAX_MESSAGE = 48_000_000;

/** Lower-cased names of commands that connect, authenticate or monitor rather than touch data. */
const CONTROL = new Set(
  [
    'hello',
    'isMaster',
    'ping',
    'buildInfo',
    'endSessions',
    'saslStart',
    'saslContinue',
    'authenticate',
    'getnonce',
    'logout',
    'hostInfo',
    'getParameter',
    'getCmdLineOpts',
    'serverStatus',
    'whatsmyuri',
    'connectionStatus',
    'atlasVersion',
    'getFreeMonitoringStatus',
  ].map((name) => name.toLowerCase()),
);

export class MongoMessageParser implements CommandReader<MongoCommand> {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** Length of the message being assembled in `pending`, once its first 4 bytes are in. */
  private need = 0;

  push(chunk: Buffer): Array<Parsed<MongoCommand>> {
    const done: Array<Parsed<MongoCommand>> = [];
    let pos = 0;
    while (pos < chunk.length) {
      // Whole messages inside the chunk are read in place, without copying.
      if (this.pendingLength === 0 && chunk.length - pos >= 4) {
        const length = messageLength(chunk, pos);
        if (chunk.length - pos >= length) {
          done.push({ command: readMessage(chunk.subarray(pos, pos + length)), end: pos + length });
          pos += length;
          continue;
        }
      }
      const want = this.need === 0 ? 4 - this.pendingLength : this.need - this.pendingLength;
      const take = Math.min(want, chunk.length - pos);
      this.pending.push(chunk.subarray(pos, pos + take));
      this.pendingLength += take;
      pos += take;
      if (this.need === 0 && this.pendingLength === 4) {
        this.need = messageLength(Buffer.concat(this.pending), 0);
      } else if (this.need > 0 && this.pendingLength === this.need) {
        done.push({ command: readMessage(Buffer.concat(this.pending)), end: pos });
        this.pending = [];
        this.pendingLength = 0;
        this.need = 0;
      }
    }
    return done;
  }
}

function messageLength(buffer: Buffer, offset: number): number {
  const length = buffer.readInt32LE(offset);
  if (length < HEADER || length > MAX_MESSAGE)
    throw new ProtocolError(`message length ${length} out of range`);
  return length;
}

export function readMessage(message: Buffer): MongoCommand {
  const opCode = message.readInt32LE(12);
  let body: Document | undefined;
  if (opCode === OP_MSG) body = opMsgBody(message);
  else if (opCode === OP_QUERY) body = opQueryBody(message);
  if (!body) return { name: `OP_${opCode}`, kind: 'unknown' };
  const name = Object.keys(body)[0] ?? '';
  if (CONTROL.has(name.toLowerCase())) return { name, kind: 'control', body };
  const target: unknown = name === 'getMore' ? body.collection : body[name];
  return {
    name,
    kind: 'data',
    ...(typeof target === 'string' ? { collection: target } : {}),
    body,
  };
}

/** Section 0 of an OP_MSG; document sequences (kind 1) are skipped. */
function opMsgBody(message: Buffer): Document | undefined {
  const flags = message.readUInt32LE(HEADER);
  const end = flags & CHECKSUM_PRESENT ? message.length - 4 : message.length;
  let offset = HEADER + 4;
  while (offset < end) {
    const kind = message[offset++];
    const size = message.readInt32LE(offset);
    if (kind === 0) return deserialize(message.subarray(offset, offset + size));
    offset += size;
  }
  return undefined;
}

/** OP_QUERY: flags, the "db.$cmd" name, skip, limit, then the command; old drivers wrap it in $query. */
function opQueryBody(message: Buffer): Document {
  const nameEnd = message.indexOf(0, HEADER + 4);
  const start = nameEnd + 1 + 8;
  const size = message.readInt32LE(start);
  const query = deserialize(message.subarray(start, start + size));
  const wrapped: unknown = query.$query;
  return typeof wrapped === 'object' && wrapped !== null ? wrapped : query;
}
