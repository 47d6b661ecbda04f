import { describe, expect, it } from 'vitest';
import { createKeyedQueue } from './keyed-queue.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('createKeyedQueue', () => {
  it('runs one task at a time per key, in call order, and keys independently', async () => {
    const queue = createKeyedQueue();
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const task = (key: string, name: string) =>
      queue(key, async () => {
        running++;
        most = Math.max(most, running);
        log.push(`${name}+`);
        await tick();
        log.push(`${name}-`);
        running--;
        return name;
      });
    const results = await Promise.all([
      task('a', 'a1'),
      task('a', 'a2'),
      task('b', 'b1'),
      task('a', 'a3'),
    ]);
    expect(results).toEqual(['a1', 'a2', 'b1', 'a3']);
    const aOnly = log.filter((entry) => entry.startsWith('a'));
    expect(aOnly).toEqual(['a1+', 'a1-', 'a2+', 'a2-', 'a3+', 'a3-']);
    expect(most).toBe(2); // one 'a' and one 'b' at once, never two 'a'
  });

  it('goes on after a task fails, and passes the failure to its caller only', async () => {
    const queue = createKeyedQueue();
    const failed = queue('k', async () => {
      throw new Error('boom');
    });
    const next = queue('k', async () => 'after');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('after');
  });
});
