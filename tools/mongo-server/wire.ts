/**
 * MongoDB wire protocol framing: OP_QUERY (legacy handshake) answered with OP_REPLY, and OP_MSG
 * with body and document-sequence sections for everything else.
 */
import { deserialize, serialize, DeserializeOptions, Long } from 'bson';
import { Document } from './values.js';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

const HEADER_SIZE = 16;
const CHECKSUM_PRESENT = 1 << 0;
const MORE_TO_COME = 1 << 1;
export const MAX_MESSAGE_SIZE = 48_000_000;

/** Longs stay Longs so they round-trip exactly; int32 and double become JS numbers. */
export const BSON_READ_OPTIONS: DeserializeOptions = {
  promoteLongs: false,
  promoteValues: true,
  promoteBuffers: false,
};

export interface Header {
  length: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

export interface CommandRequest {
  header: Header;
  /** The command document with document sequences folded in as arrays, as mongod sees it. */
  command: Document;
  db: string;
  /** The client asked for no reply (OP_MSG moreToCome, i.e. an unacknowledged write). */
  noReply: boolean;
  legacy: boolean;
}

export function readHeader(buffer: Buffer, offset = 0): Header {
  return {
    length: buffer.readInt32LE(offset),
    requestId: buffer.readInt32LE(offset + 4),
    responseTo: buffer.readInt32LE(offset + 8),
    opCode: buffer.readInt32LE(offset + 12),
  };
}

export class ProtocolError extends Error {}

export function parseMessage(message: Buffer): CommandRequest {
  const header = readHeader(message);
  if (header.opCode === OP_MSG) return parseOpMsg(header, message);
  if (header.opCode === OP_QUERY) return parseOpQuery(header, message);
  throw new ProtocolError(`unsupported opCode ${header.opCode}`);
}

function parseOpMsg(header: Header, message: Buffer): CommandRequest {
  const flags = message.readUInt32LE(HEADER_SIZE);
  const end = flags & CHECKSUM_PRESENT ? message.length - 4 : message.length;
  let offset = HEADER_SIZE + 4;
  let body: Document | undefined;
  const sequences: Array<[string, Document[]]> = [];
  while (offset < end) {
    const kind = message[offset++];
    const size = message.readInt32LE(offset);
    if (kind === 0) {
      body = deserialize(message.subarray(offset, offset + size), BSON_READ_OPTIONS);
      offset += size;
    } else if (kind === 1) {
      const sectionEnd = offset + size;
      const nameEnd = message.indexOf(0, offset + 4);
      const identifier = message.toString('utf8', offset + 4, nameEnd);
      const docs: Document[] = [];
      let cursor = nameEnd + 1;
      while (cursor < sectionEnd) {
        const docSize = message.readInt32LE(cursor);
        docs.push(deserialize(message.subarray(cursor, cursor + docSize), BSON_READ_OPTIONS));
        cursor += docSize;
      }
      sequences.push([identifier, docs]);
      offset = sectionEnd;
    } else {
      throw new ProtocolError(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!body) throw new ProtocolError('OP_MSG without a body section');
  for (const [identifier, docs] of sequences) body[identifier] = docs;
  const db = typeof body.$db === 'string' ? body.$db : 'admin';
  return { header, command: body, db, noReply: (flags & MORE_TO_COME) !== 0, legacy: false };
}

function parseOpQuery(header: Header, message: Buffer): CommandRequest {
  let offset = HEADER_SIZE + 4;
  const nameEnd = message.indexOf(0, offset);
  const fullCollectionName = message.toString('utf8', offset, nameEnd);
  offset = nameEnd + 1 + 8; // numberToSkip, numberToReturn
  const size = message.readInt32LE(offset);
  let query = deserialize(message.subarray(offset, offset + size), BSON_READ_OPTIONS);
  if (query.$query && typeof query.$query === 'object') query = query.$query as Document;
  if (!fullCollectionName.endsWith('.$cmd')) {
    throw new ProtocolError(`OP_QUERY is only supported for commands, not ${fullCollectionName}`);
  }
  const db = fullCollectionName.slice(0, -'.$cmd'.length);
  return { header, command: query, db, noReply: false, legacy: true };
}

let nextRequestId = 1;

function frame(opCode: number, responseTo: number, payload: Buffer[]): Buffer {
  const length = HEADER_SIZE + payload.reduce((n, b) => n + b.length, 0);
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeInt32LE(length, 0);
  header.writeInt32LE(nextRequestId++ & 0x7fffffff, 4);
  header.writeInt32LE(responseTo, 8);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, ...payload]);
}

/** bson returns Uint8Array; node's socket and fs APIs want Buffers over the same memory. */
export function bsonBuffer(doc: Document): Buffer {
  const bytes = serialize(doc);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeReply(request: CommandRequest, reply: Document): Buffer {
  const body = bsonBuffer(reply);
  if (request.legacy) {
    const prefix = Buffer.alloc(20);
    prefix.writeInt32LE(0, 0); // responseFlags
    Long.ZERO.toBytesLE().forEach((byte, i) => prefix.writeUInt8(byte, 4 + i)); // cursorID
    prefix.writeInt32LE(0, 12); // startingFrom
    prefix.writeInt32LE(1, 16); // numberReturned
    return frame(OP_REPLY, request.header.requestId, [prefix, body]);
  }
  const flags = Buffer.alloc(5); // flagBits = 0, then section kind 0
  return frame(OP_MSG, request.header.requestId, [flags, body]);
}
