/**
 * A MongoDB-wire-compatible server for tests and local runs: TCP listener, message framing per
 * connection, and the engine behind it. Test infrastructure only; production uses real MongoDB.
 */
import * as net from 'node:net';
import { Engine } from './engine.js';
import { Journal } from './storage.js';
import { MAX_MESSAGE_SIZE, encodeReply, parseMessage } from './wire.js';

export interface OfflineMongoOptions {
  /** TCP port; 0 picks a free one. */
  port?: number;
  host?: string;
  /** Directory that keeps data across restarts; in-memory when unset. */
  dbPath?: string;
  /** How often documents past a TTL index's expiry are removed (mongod: 60 s). */
  ttlIntervalMs?: number;
}

export class OfflineMongoServer {
  private server?: net.Server;
  private engine?: Engine;
  private journal?: Journal;
  private ttlTimer?: NodeJS.Timeout;
  private readonly sockets = new Set<net.Socket>();
  private nextConnectionId = 1;
  private address?: { host: string; port: number };

  constructor(private readonly options: OfflineMongoOptions = {}) {}

  get uri(): string {
    if (!this.address) throw new Error('offline MongoDB server is not running');
    return `mongodb://${this.address.host}:${this.address.port}`;
  }

  get port(): number {
    if (!this.address) throw new Error('offline MongoDB server is not running');
    return this.address.port;
  }

  async start(): Promise<this> {
    if (this.options.dbPath) {
      const { journal, records } = Journal.open(this.options.dbPath);
      this.journal = journal;
      this.engine = new Engine(journal);
      this.engine.restore(records);
    } else {
      this.engine = new Engine();
    }
    const engine = this.engine;
    const server = net.createServer((socket) => this.serve(socket, engine));
    this.server = server;
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address() as net.AddressInfo;
    this.address = { host, port: bound.port };
    engine.stats.port = bound.port;
    this.ttlTimer = setInterval(() => engine.expireTtl(), this.options.ttlIntervalMs ?? 60_000);
    this.ttlTimer.unref();
    return this;
  }

  /** Closes every connection and the listener, and flushes the journal. */
  async stop(): Promise<void> {
    if (this.ttlTimer) clearInterval(this.ttlTimer);
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.journal?.close();
    this.journal = undefined;
    this.address = undefined;
  }

  private serve(socket: net.Socket, engine: Engine): void {
    this.sockets.add(socket);
    engine.stats.connectionOpened();
    socket.setNoDelay(true);
    const ctx = { connectionId: this.nextConnectionId++ };
    let buffered: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4) {
        const length = buffered.readInt32LE(0);
        if (length < 16 || length > MAX_MESSAGE_SIZE) {
          socket.destroy();
          return;
        }
        if (buffered.length < length) break;
        const message = buffered.subarray(0, length);
        buffered = buffered.subarray(length);
        try {
          const request = parseMessage(message);
          const reply = engine.execute(request.db, request.command, ctx);
          if (!request.noReply) socket.write(encodeReply(request, reply));
        } catch {
          // A message we cannot parse leaves the stream in an unknown state: drop the connection.
          socket.destroy();
          return;
        }
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.sockets.delete(socket);
      engine.stats.connectionClosed();
    });
  }
}
