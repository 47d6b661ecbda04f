// @vitest-environment happy-dom
// The hooks against a small client that keeps the contract they rely on: `status` is a fresh
// object on every read, `on('status')` fires after changes, and `collection()` returns a new object
// on every call whose `subscribe` fires after each change to its type.
import { act, cleanup, renderHook, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueryableCollection, SyncStatusLike, WithId } from './index.js';
import { useEntity, useQuery, useSyncStatus } from './index.js';

afterEach(cleanup);

interface Task {
  title: string;
  done: boolean;
}

class TestClient {
  #status: SyncStatusLike = {
    state: 'idle',
    pending: 0,
    failed: 0,
    conflicts: 0,
    lastSyncAt: null,
  };
  readonly statusListeners = new Set<(status: SyncStatusLike) => void>();
  readonly rows = new Map<string, Map<string, Record<string, unknown>>>();
  readonly changeListeners = new Map<string, Set<() => void>>();
  finds = 0;
  /** When set, the next find waits for this promise before answering. */
  gate: Promise<void> | undefined;
  failNext: Error | undefined;

  get status(): SyncStatusLike {
    return { ...this.#status };
  }

  on(_event: 'status', callback: (status: SyncStatusLike) => void): () => void {
    this.statusListeners.add(callback);
    return () => this.statusListeners.delete(callback);
  }

  setStatus(patch: Partial<SyncStatusLike>): void {
    this.#status = { ...this.#status, ...patch };
    for (const callback of this.statusListeners) callback(this.status);
  }

  put(type: string, id: string, data: Record<string, unknown> | null): void {
    const rows = this.rows.get(type) ?? new Map<string, Record<string, unknown>>();
    this.rows.set(type, rows);
    if (data === null) rows.delete(id);
    else rows.set(id, { ...data, id });
    for (const callback of this.changeListeners.get(type) ?? []) callback();
  }

  collection<T extends object>(type: string): QueryableCollection<T> {
    const read = () =>
      [...(this.rows.get(type)?.values() ?? [])]
        .sort((a, b) => String(a.id).localeCompare(String(b.id)))
        .map((row) => ({ ...row }) as WithId<T>);
    return {
      subscribe: (callback) => {
        const set = this.changeListeners.get(type) ?? new Set();
        this.changeListeners.set(type, set);
        set.add(callback);
        return () => set.delete(callback);
      },
      find: async (filter) => {
        this.finds += 1;
        const gate = this.gate;
        this.gate = undefined;
        const failure = this.failNext;
        this.failNext = undefined;
        const rows = read();
        if (gate) await gate;
        if (failure) throw failure;
        if (typeof filter === 'function') return rows.filter(filter);
        return rows.filter((row) =>
          Object.entries(filter ?? {}).every(([k, v]) => (row as Record<string, unknown>)[k] === v),
        );
      },
      get: async (id) => {
        const row = this.rows.get(type)?.get(id);
        return row && ({ ...row } as WithId<T>);
      },
    };
  }
}

describe('useSyncStatus', () => {
  it('shows the status and re-renders when a field changes, not when an equal status is announced', async () => {
    const client = new TestClient();
    let renders = 0;
    const { result, unmount } = renderHook(() => {
      renders += 1;
      return useSyncStatus(client);
    });
    expect(result.current).toEqual(client.status);
    const rendersBefore = renders;

    act(() => client.setStatus({ pending: 3, failed: 1 }));
    expect(result.current.pending).toBe(3);
    expect(result.current.failed).toBe(1);
    const afterChange = renders;
    expect(afterChange).toBeGreaterThan(rendersBefore);

    act(() => client.setStatus({}));
    expect(renders).toBe(afterChange);

    act(() => client.setStatus({ state: 'syncing', lastSyncAt: '2024-05-01T08:00:00.000Z' }));
    expect(result.current).toMatchObject({
      state: 'syncing',
      lastSyncAt: '2024-05-01T08:00:00.000Z',
    });

    unmount();
    expect(client.statusListeners.size).toBe(0);
  });
});

describe('useQuery', () => {
  it('loads, then follows every change to the collection', async () => {
    const client = new TestClient();
    client.put('task', 't1', { title: 'one', done: false });
    const { result, unmount } = renderHook(() => useQuery(client.collection<Task>('task')));
    expect(result.current).toEqual({ data: [], loading: true, error: undefined });
    await waitFor(() => expect(result.current.loading).toBe(false));
    expect(result.current.data).toEqual([{ id: 't1', title: 'one', done: false }]);

    act(() => client.put('task', 't2', { title: 'two', done: true }));
    await waitFor(() => expect(result.current.data).toHaveLength(2));
    act(() => client.put('task', 't1', null));
    await waitFor(() =>
      expect(result.current.data).toEqual([{ id: 't2', title: 'two', done: true }]),
    );

    unmount();
    expect(client.changeListeners.get('task')?.size).toBe(0);
  });

  it('filters by fields and by an inline predicate, and settles although collection() is new each render', async () => {
    const client = new TestClient();
    client.put('task', 't1', { title: 'one', done: false });
    client.put('task', 't2', { title: 'two', done: true });
    client.put('task', 't3', { title: 'three', done: true });

    const byFields = renderHook(() => useQuery(client.collection<Task>('task'), { done: true }));
    await waitFor(() => expect(byFields.result.current.loading).toBe(false));
    expect(byFields.result.current.data.map((t) => t.id)).toEqual(['t2', 't3']);

    const byPredicate = renderHook(
      ({ prefix }) => useQuery(client.collection<Task>('task'), (t) => t.title.startsWith(prefix)),
      { initialProps: { prefix: 't' } },
    );
    await waitFor(() => expect(byPredicate.result.current.loading).toBe(false));
    expect(byPredicate.result.current.data.map((t) => t.id)).toEqual(['t2', 't3']);
    byPredicate.rerender({ prefix: 'o' });
    expect(byPredicate.result.current.data.map((t) => t.id)).toEqual(['t1']);

    // A new collection object on each render re-queries after a render, but an equal result does
    // not render again: the number of queries stops growing.
    const settled = client.finds;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.finds).toBeLessThanOrEqual(settled + 2);
    const later = client.finds;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.finds).toBe(later);
  });

  it('drops a result that arrives after a newer one', async () => {
    const client = new TestClient();
    client.put('task', 't1', { title: 'old', done: false });
    const collection = client.collection<Task>('task');
    let open!: () => void;
    client.gate = new Promise<void>((resolve) => (open = resolve));
    const { result } = renderHook(() => useQuery(collection));
    act(() => client.put('task', 't1', { title: 'new', done: false }));
    await waitFor(() => expect(result.current.data[0]?.title).toBe('new'));
    await act(async () => open());
    expect(result.current.data[0]?.title).toBe('new');
  });

  it('reports a failed query as error and keeps the last data', async () => {
    const client = new TestClient();
    client.put('task', 't1', { title: 'one', done: false });
    const collection = client.collection<Task>('task');
    const { result } = renderHook(() => useQuery(collection));
    await waitFor(() => expect(result.current.data).toHaveLength(1));
    client.failNext = new Error('storage closed');
    act(() => client.put('task', 't2', { title: 'two', done: false }));
    await waitFor(() => expect(result.current.error).toEqual(new Error('storage closed')));
    expect(result.current.data).toHaveLength(1);
    act(() => client.put('task', 't3', { title: 'three', done: false }));
    await waitFor(() => expect(result.current.data).toHaveLength(3));
    expect(result.current.error).toBeUndefined();
  });
});

describe('useEntity', () => {
  it('follows one entity through updates and deletion, and switches with its id', async () => {
    const client = new TestClient();
    client.put('task', 't1', { title: 'one', done: false });
    client.put('task', 't2', { title: 'two', done: false });
    const collection = client.collection<Task>('task');
    const { result, rerender } = renderHook(({ id }) => useEntity(collection, id), {
      initialProps: { id: 't1' },
    });
    expect(result.current.loading).toBe(true);
    await waitFor(() => expect(result.current.data?.title).toBe('one'));

    act(() => client.put('task', 't1', { title: 'one, edited', done: true }));
    await waitFor(() => expect(result.current.data?.title).toBe('one, edited'));

    rerender({ id: 't2' });
    expect(result.current).toEqual({ data: undefined, loading: true, error: undefined });
    await waitFor(() => expect(result.current.data?.title).toBe('two'));

    act(() => client.put('task', 't2', null));
    await waitFor(() => expect(result.current.data).toBeUndefined());
    expect(result.current.loading).toBe(false);
  });
});
