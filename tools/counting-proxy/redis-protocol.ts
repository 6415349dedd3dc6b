/**
 * Reads the client → server half of a Redis connection (RESP2/3 requests: arrays of bulk strings,
 * or inline commands) and yields each command as it completes, with the offset where it ends in
 * the chunk that completed it. Chunks may split a command anywhere and hold many (pipelines).
 * Values are not kept: only a short preview of the first arguments, and the SHA1 of an EVAL or
 * SCRIPT LOAD script (hashed as it streams, so a large script costs no copy).
 */
import { Hash, createHash } from 'node:crypto';
import { CommandReader, Parsed, ProtocolError } from './wire.js';

export interface RedisCommand {
  /** Upper-cased; for container commands with a subcommand, both: "SCRIPT LOAD", "CLIENT SETNAME". */
  name: string;
  /** The arguments after the command name, at most PREVIEW_ARGS of them, each cut at PREVIEW_BYTES. */
  args: string[];
  /** EVAL/EVALSHA (and their _RO forms): the SHA1 of the script run; SCRIPT LOAD: of the script loaded. */
  script?: string;
  /** EVAL and SCRIPT LOAD: the start of the script text, to name scripts in reports. */
  scriptPreview?: string;
}

const PREVIEW_ARGS = 3;
const PREVIEW_BYTES = 1024;
/** Redis itself refuses longer inline commands and array/bulk headers. */
const MAX_LINE = 64 * 1024;
const SUBCOMMANDS = new Set([
  'ACL',
  'CLIENT',
  'CLUSTER',
  'COMMAND',
  'CONFIG',
  'FUNCTION',
  'LATENCY',
  'MEMORY',
  'MODULE',
  'OBJECT',
  'PUBSUB',
  'SCRIPT',
  'SLOWLOG',
  'XGROUP',
  'XINFO',
]);
const EVAL = new Set(['EVAL', 'EVAL_RO']);
const EVALSHA = new Set(['EVALSHA', 'EVALSHA_RO']);
const LF = 0x0a;

export class RespCommandParser implements CommandReader<RedisCommand> {
  private line: Buffer[] = [];
  private lineLength = 0;
  /** Bulk strings still to come in the current array; 0 between commands. */
  private argsLeft = 0;
  private argIndex = 0;
  private previews: Buffer[] = [];
  /** Inside a bulk string: data bytes, then the CRLF, still to come. */
  private dataLeft = -1;
  private crlfLeft = 0;
  private preview: Buffer[] = [];
  private previewLength = 0;
  private hash: Hash | undefined;
  private scriptSha: string | undefined;

  /** Throws ProtocolError on bytes that are not RESP requests (the connection is then not parsed further). */
  push(chunk: Buffer): Array<Parsed<RedisCommand>> {
    const done: Array<Parsed<RedisCommand>> = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.dataLeft >= 0) {
        pos = this.readBulk(chunk, pos);
        if (this.dataLeft < 0 && this.argsLeft === 0)
          done.push({ command: this.finish(), end: pos });
        continue;
      }
      const newline = chunk.indexOf(LF, pos);
      const stop = newline === -1 ? chunk.length : newline + 1;
      this.line.push(chunk.subarray(pos, stop));
      this.lineLength += stop - pos;
      pos = stop;
      if (this.lineLength > MAX_LINE) throw new ProtocolError('line too long');
      if (newline === -1) break;
      const inline = this.readLine();
      if (inline) done.push({ command: inline, end: pos });
    }
    return done;
  }

  /** A complete line: an array header, a bulk header, or an inline command (returned). */
  private readLine(): RedisCommand | undefined {
    const raw = this.line.length === 1 ? this.line[0] : Buffer.concat(this.line);
    this.line = [];
    this.lineLength = 0;
    const text = raw.toString('latin1').replace(/\r?\n$/, '');
    if (this.argsLeft > 0) {
      if (text[0] !== '$')
        throw new ProtocolError(`expected a bulk string, got "${text.slice(0, 20)}"`);
      const length = integer(text.slice(1));
      if (length < 0) throw new ProtocolError('a request cannot hold a null bulk string');
      this.startBulk(length);
      return undefined;
    }
    if (text[0] === '*') {
      const count = integer(text.slice(1));
      // Redis skips empty arrays; there is no command to count.
      if (count > 0) {
        this.argsLeft = count;
        this.argIndex = 0;
        this.previews = [];
      }
      return undefined;
    }
    const words = text.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) return undefined; // Redis ignores empty inline lines
    return describe(words.map((w) => Buffer.from(w, 'latin1')));
  }

  private startBulk(length: number): void {
    this.dataLeft = length;
    this.crlfLeft = 2;
    this.preview = [];
    this.previewLength = 0;
    const name = this.previews[0]?.toString('latin1').toUpperCase();
    const first = this.previews[1]?.toString('latin1').toUpperCase();
    const isScript =
      (this.argIndex === 1 && name !== undefined && EVAL.has(name)) ||
      (this.argIndex === 2 && name === 'SCRIPT' && first === 'LOAD');
    this.hash = isScript ? createHash('sha1') : undefined;
  }

  private readBulk(chunk: Buffer, pos: number): number {
    const take = Math.min(this.dataLeft, chunk.length - pos);
    if (take > 0) {
      const data = chunk.subarray(pos, pos + take);
      this.hash?.update(data);
      if (this.argIndex <= PREVIEW_ARGS && this.previewLength < PREVIEW_BYTES) {
        const kept = data.subarray(0, PREVIEW_BYTES - this.previewLength);
        this.preview.push(kept);
        this.previewLength += kept.length;
      }
      this.dataLeft -= take;
      pos += take;
    }
    const skip = Math.min(this.crlfLeft, chunk.length - pos);
    this.crlfLeft -= skip;
    pos += skip;
    if (this.dataLeft === 0 && this.crlfLeft === 0) {
      this.dataLeft = -1;
      if (this.argIndex <= PREVIEW_ARGS) this.previews.push(Buffer.concat(this.preview));
      if (this.hash) this.scriptSha = this.hash.digest('hex');
      this.hash = undefined;
      this.argIndex++;
      this.argsLeft--;
    }
    return pos;
  }

  private finish(): RedisCommand {
    const command = describe(this.previews, this.scriptSha);
    this.previews = [];
    this.scriptSha = undefined;
    return command;
  }
}

function integer(text: string): number {
  if (!/^-?\d+$/.test(text)) throw new ProtocolError(`not an integer: "${text.slice(0, 20)}"`);
  return Number(text);
}

/** Names the command from its leading arguments (name first). */
function describe(previews: Buffer[], hashed?: string): RedisCommand {
  const [first, ...rest] = previews.map((p) => p.toString('utf8'));
  let name = (first ?? '').toUpperCase();
  if (SUBCOMMANDS.has(name) && rest[0] !== undefined) name = `${name} ${rest[0].toUpperCase()}`;
  const args = rest.slice(0, PREVIEW_ARGS);
  if (EVALSHA.has(name) && rest[0] !== undefined)
    return { name, args, script: rest[0].toLowerCase() };
  if (hashed && EVAL.has(name)) return { name, args, script: hashed, scriptPreview: rest[0] };
  if (hashed && name === 'SCRIPT LOAD')
    return { name, args, script: hashed, scriptPreview: rest[1] };
  return { name, args };
}
