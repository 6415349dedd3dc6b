/**
 * Time from acceptance to decision, kept as a histogram that can be added up (and subtracted) across
 * rollups: bucket `i` holds the times in (1.05^(i-1), 1.05^i] ms, bucket 0 those up to 1 ms. A
 * percentile read from it is the upper bound of the bucket holding the exact value, rounded up to a
 * whole millisecond: at most 5% (or 1 ms) above.
 */

/** Bucket index → count. Keys are strings so the histogram is a MongoDB subdocument as it is. */
export type DecisionHistogram = Record<string, number>;

const GROWTH = 1.05;
/** About 455 days (1.05^500 ms): anything slower counts as that. */
const LAST_BUCKET = 500;

export function decisionBucket(ms: number): number {
  if (!(ms > 1)) return 0;
  // The epsilon keeps exact powers (and float noise just above them) in their own bucket.
  const index = Math.ceil(Math.log(ms) / Math.log(GROWTH) - 1e-9);
  return Math.min(index, LAST_BUCKET);
}

/** The largest time a bucket holds, in whole milliseconds (rounded up). */
export function bucketUpperMs(index: number): number {
  return Math.ceil(GROWTH ** index - 1e-9);
}

/** The precision of reported percentiles: the figure reported for an exact time of `ms`. */
export function decisionBucketUpperMs(ms: number): number {
  return bucketUpperMs(decisionBucket(ms));
}

export function addDecision(histogram: DecisionHistogram, ms: number): void {
  const key = String(decisionBucket(ms));
  histogram[key] = (histogram[key] ?? 0) + 1;
}

/**
 * The nearest-rank percentile (`p` in (0, 1]): the value at rank ceil(p·n), as its bucket's upper
 * bound; null for an empty histogram.
 */
export function percentile(histogram: DecisionHistogram, p: number): number | null {
  const buckets = Object.entries(histogram)
    .map(([key, count]) => [Number(key), count] as const)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => a - b);
  const total = buckets.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const [index, count] of buckets) {
    seen += count;
    if (seen >= rank) return bucketUpperMs(index);
  }
  return null;
}
