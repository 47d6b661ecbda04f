// The embedded scheduler under fake timers: runs fall on slot boundaries, a slow run is never
// overlapped (the slots it covered are skipped), and stop() waits for the run in flight.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createInProcessScheduler } from './in-process-scheduler.js';
import type { JobDefinition } from './job-registry.js';

const job = (name: string, everyMs: number): JobDefinition => ({
  name,
  everyMs,
  run: () => Promise.resolve({}),
});

describe('in-process scheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(Date.UTC(2025, 0, 1, 0, 0, 0, 250));
  });
  afterEach(() => vi.useRealTimers());

  it('runs each job once per slot, on the slot boundary', async () => {
    const runs: string[] = [];
    const scheduler = createInProcessScheduler();
    await scheduler.start([job('fast', 1000), job('slow', 5000)], async (j, slot) => {
      runs.push(`${j.name}@${slot.toISOString().slice(11, 23)}`);
    });
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(749);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toEqual(['fast@00:00:01.000']);
    await vi.advanceTimersByTimeAsync(4000);
    // Both jobs' 5 s slots fall due at once, in either order.
    expect([...runs].sort()).toEqual([
      'fast@00:00:01.000',
      'fast@00:00:02.000',
      'fast@00:00:03.000',
      'fast@00:00:04.000',
      'fast@00:00:05.000',
      'slow@00:00:05.000',
    ]);
    await scheduler.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toHaveLength(6);
  });

  it('never overlaps a slow run; the slots it covered are skipped, not run in a burst', async () => {
    const slots: number[] = [];
    let active = 0;
    let maxActive = 0;
    const scheduler = createInProcessScheduler();
    await scheduler.start([job('slow', 1000)], async (_j, slot) => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      slots.push(slot.getTime() % 100_000);
      // The first run takes 2.5 slots.
      await new Promise((resolve) => setTimeout(resolve, slots.length === 1 ? 2500 : 10));
      active -= 1;
    });
    await vi.advanceTimersByTimeAsync(6000);
    expect(maxActive).toBe(1);
    // 1000 runs until 3500; 2000 and 3000 are skipped; then 4000, 5000, 6000.
    expect(slots).toEqual([1000, 4000, 5000, 6000]);
    await scheduler.stop();
  });

  it('stop() waits for the run in flight and a failing run does not end the schedule', async () => {
    let calls = 0;
    let finished = false;
    const scheduler = createInProcessScheduler();
    await scheduler.start([job('flaky', 1000)], async () => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
      await new Promise((resolve) => setTimeout(resolve, 500));
      finished = true;
    });
    await vi.advanceTimersByTimeAsync(1900);
    expect(calls).toBe(2);
    const stopping = scheduler.stop();
    let stopped = false;
    void stopping.then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(100);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(300);
    expect(stopped).toBe(true);
    expect(finished).toBe(true);
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toBe(2);
  });
});
