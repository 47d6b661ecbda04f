// How the IndexedDB adapter opens and lets go of its database, beyond the LocalStore contract.
import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import { indexedDbStorage } from './indexeddb-store.js';

describe('indexedDbStorage opening', () => {
  it('is usable at once: calls made before the database is open wait for it, in order', async () => {
    const store = indexedDbStorage('open-early');
    const writes = [1, 2, 3].map((n) =>
      store.write([{ kind: 'setMeta', key: 'last', value: String(n) }]),
    );
    expect(await store.getMeta('last')).toBe('3');
    await Promise.all(writes);
    await store.close();
  });

  it('rejects every call with the reason when the database cannot be opened', async () => {
    const newer = await openDB('open-newer', 5);
    newer.close();
    const store = indexedDbStorage('open-newer');
    await expect(store.getMeta('k')).rejects.toMatchObject({ name: 'VersionError' });
    await expect(store.write([{ kind: 'setMeta', key: 'k', value: 'v' }])).rejects.toMatchObject({
      name: 'VersionError',
    });
    await store.close();
  });

  it('closes itself and says so when another tab upgrades the database', async () => {
    let told = 0;
    const store = indexedDbStorage('open-upgraded', { onVersionChange: () => (told += 1) });
    await store.write([{ kind: 'setMeta', key: 'k', value: 'v' }]);
    const upgraded = await openDB('open-upgraded', 3);
    expect(told).toBe(1);
    await expect(store.getMeta('k')).rejects.toMatchObject({ code: 'LOCAL_STORE_CLOSED' });
    upgraded.close();
  });
});
