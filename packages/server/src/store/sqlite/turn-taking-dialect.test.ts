// SQLite answers at once, yet the callers waiting on its one connection take turns of the event
// loop: a callback queued for the next turn runs before a burst of queries or transactions ends.
import { describe, expect, it } from 'vitest';
import { createSqliteSyncStore } from './sqlite-sync-store.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('turn-taking on SQLite', () => {
  it('lets the event loop turn between the callers of the one connection', async () => {
    const store = await createSqliteSyncStore({ file: ':memory:' });
    try {
      const order: string[] = [];
      const burst = Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0
          ? store.ping()
          : store.forTenant('t').transact(async (tx) => tx.getTenantState())
        ).then(() => order.push(`caller ${i}`)),
      );
      const other = nextTurn().then(() => order.push('another turn'));
      await Promise.all([...burst, other]);
      const turned = order.indexOf('another turn');
      expect(turned).toBeGreaterThanOrEqual(0);
      expect(turned).toBeLessThan(order.length - 1);
    } finally {
      await store.close();
    }
  });
});
