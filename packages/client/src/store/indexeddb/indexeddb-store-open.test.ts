// How the IndexedDB adapter opens and lets go of its database, beyond the LocalStore contract.
import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import { indexedDbStorage } from './indexeddb-store.js';

describe('indexedDbStorage opening', () => {
  it('gives rows stored by version 2 their pair keys on upgrade, so no query misses them', async () => {
    // Version 2 as it shipped: the four stores, the 'fields' index, one key per field.
    const old = await openDB('open-v2', 2, {
      upgrade(db) {
        db.createObjectStore('entities', { keyPath: ['type', 'id'] }).createIndex('fields', 'ix', {
          multiEntry: true,
        });
        for (const [name, keyPath] of [
          ['outbox', 'seq'],
          ['conflicts', 'id'],
          ['meta', 'key'],
        ] as const) {
          db.createObjectStore(name, { keyPath });
        }
      },
    });
    for (const [id, ward, age] of [
      ['p1', 'north', 40],
      ['p2', 'south', 30],
      ['p3', 'north', 20],
    ] as const) {
      await old.put('entities', {
        type: 'patient',
        id,
        version: 1,
        deleted: false,
        body: '{}',
        fields: { ward, age },
        ix: [
          ['patient', 'ward', 3, ward],
          ['patient', 'age', 2, age],
        ],
      });
    }
    old.close();
    const store = indexedDbStorage('open-v2');
    const ids = async (query: Parameters<typeof store.queryEntities>[1]) =>
      (await store.queryEntities('patient', query)).map((row) => row.id);
    expect(
      await ids({
        where: [{ field: 'ward', in: ['north'] }],
        orderBy: { field: 'age', direction: 'asc' },
      }),
    ).toEqual(['p3', 'p1']);
    expect(await ids({ where: [], orderBy: { field: 'age', direction: 'desc' } })).toEqual([
      'p1',
      'p2',
      'p3',
    ]);
    await store.close();
  });

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
    const upgraded = await openDB('open-upgraded', 9);
    expect(told).toBe(1);
    await expect(store.getMeta('k')).rejects.toMatchObject({ code: 'LOCAL_STORE_CLOSED' });
    upgraded.close();
  });
});
