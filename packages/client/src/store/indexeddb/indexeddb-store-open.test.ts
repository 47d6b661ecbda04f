// How the IndexedDB adapter opens and lets go of its database, beyond the LocalStore contract.
import 'fake-indexeddb/auto';
import { openDB, type IDBPDatabase } from 'idb';
import { describe, expect, it } from 'vitest';
import { toRecord } from './indexeddb-query.js';
import { indexedDbStorage } from './indexeddb-store.js';

/** The four stores and the 'fields' index, as versions 2 and 3 shipped them. */
function oldSchema(db: IDBPDatabase) {
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
}

describe('indexedDbStorage opening', () => {
  it('gives rows stored by version 2 their field keys on upgrade, so no query misses them', async () => {
    // Version 2 as it shipped: one array key per field.
    const old = await openDB('open-v2', 2, { upgrade: oldSchema });
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

  it('drops the pair keys of rows stored by version 3 on upgrade, and still finds them', async () => {
    // Version 3 as it shipped: string keys, one per field and one per ordered pair of fields.
    const everyPair = [
      ['ward', 'age'],
      ['age', 'ward'],
    ] as const;
    const old = await openDB('open-v3', 3, { upgrade: oldSchema });
    for (const [id, ward, age] of [
      ['p1', 'north', 40],
      ['p2', 'south', 30],
      ['p3', 'north', 20],
    ] as const) {
      const row = { type: 'patient', id, version: 1, deleted: false, body: '{}' };
      await old.put('entities', toRecord({ ...row, fields: { ward, age } }, everyPair));
    }
    expect((await old.get('entities', ['patient', 'p1'])).ix).toHaveLength(4);
    old.close();
    const store = indexedDbStorage('open-v3');
    const ids = async (query: Parameters<typeof store.queryEntities>[1]) =>
      (await store.queryEntities('patient', query)).map((row) => row.id);
    const northByAge = {
      where: [{ field: 'ward', in: ['north'] }],
      orderBy: { field: 'age', direction: 'desc' as const },
    };
    expect(await ids(northByAge)).toEqual(['p1', 'p3']);
    expect(await ids({ where: [{ field: 'ward', in: ['north', 'south'] }] })).toEqual([
      'p1',
      'p2',
      'p3',
    ]);
    await store.close();
    const upgraded = await openDB('open-v3');
    expect(upgraded.version).toBe(4);
    expect((await upgraded.get('entities', ['patient', 'p1'])).ix).toHaveLength(2);
    upgraded.close();
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
