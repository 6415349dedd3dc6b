/**
 * Group commit: callers submit one item each and get their own result, but items that arrive
 * together are committed together (Kafka's producer `linger.ms`/`batch.size`, PostgreSQL's
 * `commit_delay`, DataLoader). A batch is committed when it is full, or `lingerMs` after its
 * first item arrived (0: at the end of the current turn of the event loop), provided fewer than
 * `maxInFlight` batches are being committed; otherwise it waits for one to finish, growing
 * meanwhile. Under light load each item goes alone and almost at once; under heavy load batches
 * grow by themselves, which is what keeps round trips per item low.
 */

export interface GroupCommitOptions {
  /** Most items in one batch. */
  maxBatch: number;
  /** How long the first item of a batch waits for company; 0 = the current event-loop turn. */
  lingerMs: number;
  /** Batches committed at the same time; 1 makes the committer the single writer. */
  maxInFlight: number;
}

/** Commits a batch; answers one result or Error per item, in the order of `items`. */
export type CommitBatch<I, R> = (items: I[]) => Promise<Array<R | Error>>;

interface Waiting<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (error: Error) => void;
}

export class GroupCommit<I, R> {
  private pending: Array<Waiting<I, R>> = [];
  private inFlight = 0;
  private scheduled?: { cancel: () => void };
  private idle?: { promise: Promise<void>; resolve: () => void };

  constructor(
    private readonly commit: CommitBatch<I, R>,
    private readonly options: GroupCommitOptions,
    /** Told the size of every batch, for metrics. */
    private readonly onBatch?: (size: number) => void,
  ) {
    if (options.maxBatch < 1 || options.maxInFlight < 1 || options.lingerMs < 0)
      throw new RangeError('group commit needs maxBatch ≥ 1, maxInFlight ≥ 1 and lingerMs ≥ 0');
  }

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting or being committed. */
  get size(): number {
    return this.pending.length + this.inFlight;
  }

  /** Resolves once every item submitted so far has its answer. */
  async drained(): Promise<void> {
    while (this.pending.length > 0 || this.inFlight > 0) {
      this.idle ??= withResolvers();
      await this.idle.promise;
    }
  }

  private schedule(): void {
    if (this.pending.length === 0 || this.inFlight >= this.options.maxInFlight) return;
    if (this.pending.length >= this.options.maxBatch) {
      this.flush();
      return;
    }
    if (this.scheduled) return;
    if (this.options.lingerMs === 0) {
      const handle = setImmediate(() => this.flush());
      this.scheduled = { cancel: () => clearImmediate(handle) };
    } else {
      const handle = setTimeout(() => this.flush(), this.options.lingerMs);
      this.scheduled = { cancel: () => clearTimeout(handle) };
    }
  }

  private flush(): void {
    this.scheduled?.cancel();
    this.scheduled = undefined;
    if (this.pending.length === 0 || this.inFlight >= this.options.maxInFlight) return;
    const batch = this.pending.splice(0, this.options.maxBatch);
    this.inFlight++;
    this.onBatch?.(batch.length);
    void this.run(batch).finally(() => {
      this.inFlight--;
      if (this.pending.length > 0) {
        // Whatever piled up while this batch was committed goes next, without lingering again.
        if (this.inFlight < this.options.maxInFlight) this.flush();
      } else if (this.inFlight === 0) {
        this.idle?.resolve();
        this.idle = undefined;
      }
    });
    // More than a full batch was waiting: the rest may go too if another slot is free.
    this.schedule();
  }

  private async run(batch: Array<Waiting<I, R>>): Promise<void> {
    let results: Array<R | Error>;
    try {
      results = await this.commit(batch.map((w) => w.item));
      if (results.length !== batch.length)
        throw new Error(`commit answered ${results.length} results for ${batch.length} items`);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    batch.forEach((waiting, i) => {
      const result = results[i];
      if (result instanceof Error) waiting.reject(result);
      else waiting.resolve(result);
    });
  }
}

function withResolvers(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
