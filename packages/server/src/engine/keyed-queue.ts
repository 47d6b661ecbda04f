// Runs tasks one at a time per key, in call order, keeping no state for idle keys. The stores
// queue a tenant's transactions with it so that waiting writers wait in memory, not while each
// holds a pooled connection blocked on the tenant's row lock (PostgreSQL) or sits in the shared
// connection's queue (SQLite), either of which would starve other tenants; the engine runs a
// tenant's bounded heavy work (queue retries) one call at a time with it.
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
