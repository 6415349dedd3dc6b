/** What the protocol readers of the counting proxy (redis-protocol.ts, mongo-protocol.ts) share. */

/** A command read from the client → server stream of one connection. */
export interface Parsed<C> {
  command: C;
  /** Offset in the pushed chunk just past the command's last byte. */
  end: number;
}

/** Incremental reader of one connection's client → server bytes. */
export interface CommandReader<C> {
  /** The commands this chunk completes; throws when the bytes are not the protocol. */
  push(chunk: Buffer): Array<Parsed<C>>;
}

export class ProtocolError extends Error {}
