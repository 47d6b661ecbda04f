// The benchmark's verdicts: a rate meets a ≥ target at or above it, a latency a ≤ target at or
// below it, and figures without a target get none.
import { describe, expect, it } from 'vitest';
import { judge, verdictText } from '../../bench/targets.js';
import { median, summarize } from '../../bench/stats.js';

describe('targets', () => {
  it('judges rates from below and latencies from above', () => {
    expect(judge('sqlite:push:1000', 30_000)?.met).toBe(true);
    expect(judge('sqlite:push:1000', 29_999)?.met).toBe(false);
    expect(judge('sqlite:concurrent-push-p99', 20)?.met).toBe(true);
    expect(judge('sqlite:concurrent-push-p99', 20.1)?.met).toBe(false);
    expect(judge('sqlite:push:7', 1)).toBeUndefined();
    expect(verdictText(judge('server-rss', 222))).toBe('≤ 150 ✗');
    expect(verdictText(undefined)).toBe('');
  });

  it('takes medians and nearest-rank percentiles', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(summarize(hundred)).toEqual({ count: 100, p50: 50, p99: 99, max: 100 });
  });
});
