/**
 * An in-process read-through cache for the hot path, kept coherent across replicas by
 * CacheInvalidation. Misses of the same event-loop turn are loaded together (one query for many
 * keys, DataLoader-style). Staleness is bounded: an entry is dropped when any replica publishes a
 * change of its key (normally within milliseconds), and lives at most `ttlMs` after it was read
 * in any case, in case an invalidation was lost.
 */
import { withDeadline } from './deadline.js';
import { GroupCommit } from './group-commit.js';
import type { CacheInvalidation, CacheListener } from './cache-invalidation.js';

export interface InvalidatingCacheOptions {
  /** Topic of the invalidation messages, e.g. `catalog`. */
  topic: string;
  /** 0 turns caching off: every lookup reads (still batched). */
  ttlMs: number;
  maxEntries: number;
  /** A load that takes longer fails its lookups (DeadlineExceededError). */
  loadTimeoutMs: number;
}

/** Loads the records of `keys`; keys without a record are left out of the map. */
export type BatchLoader<V> = (keys: string[]) => Promise<Map<string, V>>;

interface Entry<V> {
  value: V;
  expiresAt: number;
}

export class InvalidatingCache<V> implements CacheListener {
  private readonly entries = new Map<string, Entry<V>>();
  /** Bumped by every invalidation: a load that overlapped one must not be stored. */
  private generation = 0;
  private readonly loader: GroupCommit<string, V | undefined>;
  private listening = false;

  constructor(
    load: BatchLoader<V>,
    private readonly invalidation: CacheInvalidation,
    private readonly options: InvalidatingCacheOptions,
  ) {
    this.loader = new GroupCommit<string, V | undefined>(
      async (keys) => {
        const generation = this.generation;
        const startedAt = Date.now();
        const loaded = await withDeadline(load([...new Set(keys)]), this.options.loadTimeoutMs);
        const cacheable = this.caching && generation === this.generation;
        return keys.map((key) => {
          const value = loaded.get(key);
          if (cacheable) this.store(key, value, startedAt + this.options.ttlMs);
          return value;
        });
      },
      { maxBatch: 1000, lingerMs: 0, maxInFlight: 4 },
    );
  }

  /** The records of `keys` that exist. */
  async getMany(keys: string[]): Promise<Map<string, V>> {
    if (!this.listening) {
      this.invalidation.listen(this.options.topic, this);
      this.listening = true;
    }
    const found = new Map<string, V>();
    const misses: Array<Promise<void>> = [];
    const now = Date.now();
    for (const key of keys) {
      const entry = this.caching ? this.entries.get(key) : undefined;
      if (entry && entry.expiresAt > now) {
        found.set(key, entry.value);
        continue;
      }
      misses.push(
        this.loader.submit(key).then((value) => {
          if (value !== undefined) found.set(key, value);
        }),
      );
    }
    if (misses.length > 0) await Promise.all(misses);
    return found;
  }

  async get(key: string): Promise<V | undefined> {
    return (await this.getMany([key])).get(key);
  }

  invalidate(key: string): void {
    this.generation++;
    this.entries.delete(key);
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
  }

  private get caching(): boolean {
    return this.options.ttlMs > 0 && this.invalidation.live;
  }

  private store(key: string, value: V | undefined, expiresAt: number): void {
    // Absent records are not kept: an id that does not exist yet may be created any moment.
    if (value === undefined) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt });
    if (this.entries.size > this.options.maxEntries) {
      // Oldest insertion first: the Map iterates in insertion order.
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }
}
