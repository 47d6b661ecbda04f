// Runs tasks one at a time per key, in call order, keeping no state for idle keys. The PostgreSQL
// store queues a tenant's transactions with it so that waiting writers wait in memory, not while
// each holds a pooled connection blocked on the tenant's row lock (which would starve other tenants).
export type KeyedQueue = <T>(key: string, task: () => Promise<T>) => Promise<T>;

export function createKeyedQueue(): KeyedQueue {
  const tails = new Map<string, Promise<unknown>>();
  return async (key, task) => {
    const previous = tails.get(key) ?? Promise.resolve();
    const current = previous.then(task);
    const tail = current.catch(() => undefined);
    tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}
