// @vitest-environment happy-dom
// The hooks over the real sync client (memory storage, scripted network): the client's types fit
// the hooks as they are, and its status and change events drive them.
import { act, cleanup, renderHook, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { healthyServer, scriptedFetch } from '../../../../test/support/sdk-fetch.js';
import { createSyncClient, type SyncStatus } from '../create-sync-client.js';
import { memoryStorage } from '../store/index.js';
import { useEntity, useQuery, useSyncStatus } from './index.js';

afterEach(cleanup);

function makeClient() {
  return createSyncClient({
    url: 'http://sync.test',
    getToken: () => 'token-1',
    storage: memoryStorage(),
    fetch: scriptedFetch(healthyServer).fetch,
    realtime: false,
    // The scripted server speaks the feed only; the snapshot has its own tests.
    firstSync: 'feed',
    collections: { task: { indexes: ['done', 'rank'] } },
  });
}

describe('React hooks over createSyncClient', () => {
  it('keep an indexed live query current, ordered and limited, with an inline query object', async () => {
    const client = makeClient();
    const tasks = client.collection<{ title: string; done: boolean; rank: number }>('task');
    const list = renderHook(() =>
      useQuery(tasks, { where: { done: false }, orderBy: 'rank', limit: 2 }),
    );
    await waitFor(() => expect(list.result.current.loading).toBe(false));
    expect(list.result.current.data).toEqual([]);

    await act(async () => {
      await tasks.create({ title: 'c', done: false, rank: 3 }, { id: 'c' });
      await tasks.create({ title: 'a', done: false, rank: 1 }, { id: 'a' });
      await tasks.create({ title: 'x', done: true, rank: 0 }, { id: 'x' });
      await tasks.create({ title: 'b', done: false, rank: 2 }, { id: 'b' });
    });
    await waitFor(() =>
      expect(list.result.current.data.map((task) => task.id)).toEqual(['a', 'b']),
    );

    await act(async () => {
      await tasks.update('a', { done: true });
    });
    await waitFor(() =>
      expect(list.result.current.data.map((task) => task.id)).toEqual(['b', 'c']),
    );
    list.unmount();
    await client.close();
  });

  it('report a query on a field the collection does not index as an error', async () => {
    const client = makeClient();
    const tasks = client.collection<{ title: string }>('task');
    const list = renderHook(() => useQuery(tasks, { where: { title: 'a' } }));
    await waitFor(() =>
      expect(list.result.current.error).toMatchObject({ code: 'FIELD_NOT_INDEXED' }),
    );
    list.unmount();
    await client.close();
  });

  it('show pending changes, then the finished sync', async () => {
    const client = makeClient();
    await client.ready();
    const { result } = renderHook(() => useSyncStatus(client));
    const initial: SyncStatus = result.current;
    expect(initial.pending).toBe(0);

    await act(async () => {
      await client.collection('task').create({ title: 'one' });
    });
    await waitFor(() => expect(result.current.pending).toBe(1));

    await act(async () => {
      await client.syncNow();
    });
    await waitFor(() => expect(result.current.pending).toBe(0));
    expect(result.current.lastSyncAt).not.toBeNull();
    await client.close();
  });

  it('follow a collection and one entity through create, update and delete', async () => {
    const client = makeClient();
    const tasks = client.collection<{ title: string; done: boolean }>('task');
    const list = renderHook(() => useQuery(tasks, { done: false }));
    await waitFor(() => expect(list.result.current.loading).toBe(false));
    expect(list.result.current.data).toEqual([]);

    let id = '';
    await act(async () => {
      id = await tasks.create({ title: 'one', done: false });
    });
    await waitFor(() =>
      expect(list.result.current.data).toEqual([{ id, title: 'one', done: false }]),
    );

    const one = renderHook(() => useEntity(tasks, id));
    await waitFor(() => expect(one.result.current.data?.title).toBe('one'));

    await act(async () => {
      await tasks.update(id, { title: 'one, edited', done: true });
    });
    await waitFor(() => expect(one.result.current.data?.title).toBe('one, edited'));
    await waitFor(() => expect(list.result.current.data).toEqual([]));

    await act(async () => {
      await tasks.delete(id);
    });
    await waitFor(() => expect(one.result.current.data).toBeUndefined());
    await client.close();
  });
});
