import { GroupCommit } from './group-commit.js';

/** A committer that records its batches and answers when told to. */
function recorder<I, R>(answer: (item: I) => R | Error) {
  const batches: I[][] = [];
  const gates: Array<() => void> = [];
  let held = false;
  return {
    batches,
    hold() {
      held = true;
    },
    releaseAll() {
      held = false;
      for (const open of gates.splice(0)) open();
    },
    commit: async (items: I[]): Promise<Array<R | Error>> => {
      batches.push(items);
      if (held) await new Promise<void>((resolve) => gates.push(resolve));
      return items.map(answer);
    },
  };
}

describe('GroupCommit', () => {
  it('commits items submitted in the same turn as one batch, each caller getting its own result', async () => {
    const r = recorder((n: number) => n * 10);
    const group = new GroupCommit(r.commit, { maxBatch: 100, lingerMs: 0, maxInFlight: 1 });
    const results = await Promise.all([1, 2, 3].map((n) => group.submit(n)));
    expect(results).toEqual([10, 20, 30]);
    expect(r.batches).toEqual([[1, 2, 3]]);
  });

  it('fails only the item whose result is an Error', async () => {
    const r = recorder((n: number) => (n === 2 ? new Error('two refused') : n));
    const group = new GroupCommit(r.commit, { maxBatch: 100, lingerMs: 0, maxInFlight: 1 });
    const settled = await Promise.allSettled([1, 2, 3].map((n) => group.submit(n)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toEqual(new Error('two refused'));
  });

  it('fails every item of a batch whose commit throws, and goes on with the next batch', async () => {
    let calls = 0;
    const group = new GroupCommit(
      (items: number[]) =>
        ++calls === 1 ? Promise.reject(new Error('database unreachable')) : Promise.resolve(items),
      { maxBatch: 100, lingerMs: 0, maxInFlight: 1 },
    );
    const first = await Promise.allSettled([group.submit(1), group.submit(2)]);
    expect(first.every((s) => s.status === 'rejected')).toBe(true);
    await expect(group.submit(3)).resolves.toBe(3);
  });

  it('flushes a full batch at once, without waiting for the linger time', async () => {
    const r = recorder((n: number) => n);
    const group = new GroupCommit(r.commit, { maxBatch: 2, lingerMs: 60_000, maxInFlight: 2 });
    await expect(Promise.all([group.submit(1), group.submit(2)])).resolves.toEqual([1, 2]);
    expect(r.batches).toEqual([[1, 2]]);
  });

  it('waits up to the linger time for company', async () => {
    const r = recorder((n: number) => n);
    const group = new GroupCommit(r.commit, { maxBatch: 10, lingerMs: 200, maxInFlight: 1 });
    const first = group.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const second = group.submit(2);
    await Promise.all([first, second]);
    expect(r.batches).toEqual([[1, 2]]);
  });

  it('with one batch in flight, gathers what arrives meanwhile into the next batch', async () => {
    const r = recorder((n: number) => n);
    const group = new GroupCommit(r.commit, { maxBatch: 100, lingerMs: 0, maxInFlight: 1 });
    r.hold();
    const first = group.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.batches).toEqual([[1]]);
    const later = [2, 3, 4].map((n) => group.submit(n));
    await new Promise((resolve) => setImmediate(resolve));
    // Nothing else is committed while the first batch is in flight.
    expect(r.batches).toEqual([[1]]);
    r.releaseAll();
    await first;
    await Promise.all(later);
    expect(r.batches).toEqual([[1], [2, 3, 4]]);
  });

  it('never puts more than maxBatch items in a batch', async () => {
    const r = recorder((n: number) => n);
    const group = new GroupCommit(r.commit, { maxBatch: 3, lingerMs: 0, maxInFlight: 1 });
    await Promise.all(Array.from({ length: 8 }, (_, i) => group.submit(i)));
    expect(r.batches.map((b) => b.length)).toEqual([3, 3, 2]);
    expect(r.batches.flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('reports batch sizes and drains: every submitted item answered', async () => {
    const sizes: number[] = [];
    const r = recorder((n: number) => n);
    const group = new GroupCommit(r.commit, { maxBatch: 4, lingerMs: 0, maxInFlight: 2 }, (size) =>
      sizes.push(size),
    );
    const all = Array.from({ length: 10 }, (_, i) => group.submit(i));
    await group.drained();
    expect(group.size).toBe(0);
    await expect(Promise.all(all)).resolves.toHaveLength(10);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('refuses nonsensical options', () => {
    const commit = (items: number[]) => Promise.resolve(items);
    expect(() => new GroupCommit(commit, { maxBatch: 0, lingerMs: 0, maxInFlight: 1 })).toThrow(
      RangeError,
    );
    expect(() => new GroupCommit(commit, { maxBatch: 1, lingerMs: 0, maxInFlight: 0 })).toThrow(
      RangeError,
    );
  });
});
