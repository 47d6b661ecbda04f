// Engine v2's targets, printed beside each figure with ✓ or ✗. They are goals the benchmark
// reports against, never assertions: a figure below its target is news, not a failure.

export interface Target {
  /** `≥` when more is better (rates, ratios), `≤` when less is (latency, memory). */
  readonly direction: '≥' | '≤';
  readonly value: number;
  readonly unit: string;
}

export interface Verdict extends Target {
  readonly met: boolean;
}

const at = (direction: Target['direction'], value: number, unit: string): Target => ({
  direction,
  value,
  unit,
});

/** Today's fleet run (200 devices for 60 s) applied 196–533 changes/s; the goal is 10× the best. */
const FLEET_TODAY_BEST = 533;

export const targets = {
  'sqlite:push:1000': at('≥', 30_000, 'changes/s'),
  'sqlite:push:100': at('≥', 15_000, 'changes/s'),
  'sqlite:pull': at('≥', 150_000, 'changes/s'),
  'postgres:push:1000': at('≥', 10_000, 'changes/s'),
  'postgres:pull': at('≥', 100_000, 'changes/s'),
  'sqlite:concurrent-push-p99': at('≤', 20, 'ms'),
  'fleet:changes': at('≥', FLEET_TODAY_BEST * 10, 'changes/s'),
  'fleet:first-answer-p99': at('≤', 1000, 'ms'),
  'server-rss': at('≤', 150, 'MB'),
  /** Rates in a tenant of 1,000,000 entities within 20% of an empty tenant's. */
  'big-tenant-ratio': at('≥', 0.8, '× empty'),
} satisfies Record<string, Target>;

export type TargetName = keyof typeof targets;

/** The verdict for `value` against a named target, or undefined when the figure has none. */
export function judge(name: string, value: number): Verdict | undefined {
  const target = (targets as Record<string, Target>)[name];
  if (!target) return undefined;
  const met = target.direction === '≥' ? value >= target.value : value <= target.value;
  return { ...target, met };
}

/** `≥ 30,000 ✓`, or '' when the figure has no target. */
export function verdictText(verdict: Verdict | undefined): string {
  if (!verdict) return '';
  return `${verdict.direction} ${verdict.value.toLocaleString('en-US')} ${verdict.met ? '✓' : '✗'}`;
}
