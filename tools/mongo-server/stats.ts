/**
 * Server-wide counters since start, and the serverStatus reply that reports them. The counting
 * follows mongod 7.0 (its source and jstests/core/opcounters_write_cmd.js), not only the manual:
 *
 * - metrics.commands.<name>: every command received, by the name mongod registers it under
 *   (aliases such as `ismaster` count as `isMaster`); `failed` when the reply has `ok: 0`.
 *   Write errors inside an `ok: 1` reply are not failures. Unknown names count in `<UNKNOWN>`.
 * - opcounters.insert: each document an insert command attempts (an ordered insert stops after
 *   its first error, so K successes then a failure count K + 1).
 * - opcounters.update / delete: each statement attempted, however many documents it touches.
 * - opcounters.query: each find; opcounters.getmore: each getMore, failed or not.
 * - opcounters.command: every other known command, findAndModify and aggregate included (mongod
 *   7.1 moved aggregate to query); unknown commands are not counted.
 */
import { hostname } from 'node:os';
import { Double, Long } from 'bson';
import { Document } from './values.js';

export type OpCounter = 'insert' | 'query' | 'update' | 'delete' | 'getmore' | 'command';

export interface CommandCounter {
  total: number;
  failed: number;
}

/** Aliases mongod registers under another command's name, whose counters they share. */
const ALIASES = new Map([
  ['ismaster', 'isMaster'],
  ['findandmodify', 'findAndModify'],
  ['buildinfo', 'buildInfo'],
]);

/**
 * Commands that do not count in opcounters.command: reads count in their own opcounter, writes
 * (null) count each document or statement in their handler.
 */
const OPCOUNTER_OF = new Map<string, OpCounter | null>([
  ['find', 'query'],
  ['getMore', 'getmore'],
  ['insert', null],
  ['update', null],
  ['delete', null],
]);

/** mongod's default net.maxIncomingConnections; the offline server has no limit of its own. */
const MAX_INCOMING_CONNECTIONS = 1_000_000;

/** Top-level sections `{serverStatus: 1, <section>: 0}` may leave out. */
const SECTIONS = ['connections', 'opcounters', 'metrics'];

export class ServerStats {
  readonly opcounters: Record<OpCounter, number> = {
    insert: 0,
    query: 0,
    update: 0,
    delete: 0,
    getmore: 0,
    command: 0,
  };
  private readonly commands = new Map<string, CommandCounter>();
  private unknownCommands = 0;
  private openConnections = 0;
  private createdConnections = 0;
  private readonly startedAt = Date.now();
  /** Set by the listener: mongod's `host` names the port unless it is the default one. */
  port?: number;

  /** `commandNames`: every command the server knows, listed from the start as mongod does. */
  constructor(commandNames: Iterable<string>) {
    for (const name of commandNames) this.commands.set(canonical(name), { total: 0, failed: 0 });
  }

  /**
   * Counts one command as received; returns its counter so the caller can count a failure, or
   * undefined for a name the server does not know.
   */
  received(name: string | undefined): CommandCounter | undefined {
    const key = name === undefined ? undefined : canonical(name);
    const counter = key === undefined ? undefined : this.commands.get(key);
    if (key === undefined || !counter) {
      this.unknownCommands++;
      return undefined;
    }
    counter.total++;
    const opcounter = OPCOUNTER_OF.get(key);
    if (opcounter === undefined) this.opcounters.command++;
    else if (opcounter !== null) this.opcounters[opcounter]++;
    return counter;
  }

  connectionOpened(): void {
    this.openConnections++;
    this.createdConnections++;
  }

  connectionClosed(): void {
    this.openConnections--;
  }

  /** The serverStatus reply; `cmd` may exclude sections with `{section: 0}`. */
  report(cmd: Document, version: string): Document {
    const now = Date.now();
    const uptimeMillis = now - this.startedAt;
    const commands: Document = { '<UNKNOWN>': Long.fromNumber(this.unknownCommands) };
    for (const name of [...this.commands.keys()].sort()) {
      const counter = this.commands.get(name) as CommandCounter;
      commands[name] = {
        failed: Long.fromNumber(counter.failed),
        total: Long.fromNumber(counter.total),
      };
    }
    const opcounters: Document = {};
    for (const [name, n] of Object.entries(this.opcounters)) opcounters[name] = Long.fromNumber(n);
    const reply: Document = {
      host:
        this.port === undefined || this.port === 27017 ? hostname() : `${hostname()}:${this.port}`,
      version,
      process: 'mongod',
      pid: Long.fromNumber(process.pid),
      // mongod reports whole seconds as a double.
      uptime: new Double(Math.floor(uptimeMillis / 1000)),
      uptimeMillis: Long.fromNumber(uptimeMillis),
      uptimeEstimate: Long.fromNumber(Math.floor(uptimeMillis / 1000)),
      localTime: new Date(now),
      connections: {
        current: this.openConnections,
        available: MAX_INCOMING_CONNECTIONS - this.openConnections,
        totalCreated: Long.fromNumber(this.createdConnections),
      },
      opcounters,
      metrics: { commands },
    };
    for (const section of SECTIONS) {
      if (cmd[section] === 0 || cmd[section] === false) delete reply[section];
    }
    return { ...reply, ok: 1 };
  }
}

function canonical(name: string): string {
  return ALIASES.get(name) ?? name;
}
