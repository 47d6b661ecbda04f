// What encryption at rest promises about the bytes on disk: no payload in clear, ids in clear,
// a wrong passphrase refused at open, a tampered or moved ciphertext refused on read.
import 'fake-indexeddb/auto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openDB } from 'idb';
import { afterAll, describe, expect, it } from 'vitest';
import type { LocalStore, StorageWrite } from '../core/ports.js';
import {
  encryptLocalStore,
  encryptLocalStoreDefaults,
  LocalStoreEncryptionError,
} from './encrypted-store.js';
import { indexedDbStorage } from './indexeddb/indexeddb-store.js';
import { memoryStorage } from './memory/memory-store.js';
import { sqliteStorage } from './sqlite/sqlite-store.js';
import { InvalidStorageWriteError } from './validate-write.js';

const dir = mkdtempSync(join(tmpdir(), 'syncline-client-at-rest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const options = { passphrase: 'correct horse battery staple', iterations: 1000 };

// Distinctive text that would only be in the file if a payload were stored in clear.
const secret = 'Zanele Mokoena HIV-positive 7731';
const entityId = 'patient-4c1f9e';
const writes: StorageWrite[] = [
  {
    kind: 'putEntity',
    row: {
      type: 'patient',
      id: entityId,
      version: 3,
      deleted: false,
      body: JSON.stringify({ name: secret }),
    },
  },
  {
    kind: 'putOutbox',
    row: {
      seq: 1,
      mutationId: 'mutation-8d2b',
      type: 'encounter',
      id: 'encounter-77aa',
      operation: 'CREATE',
      baseVersion: 0,
      timestamp: '2024-05-01T08:00:00.000Z',
      attempts: 2,
      state: 'FAILED',
      error: JSON.stringify({ code: 'VALIDATION_FAILED', message: `diagnosis "${secret}"` }),
      body: JSON.stringify({ diagnosis: secret }),
    },
  },
  {
    kind: 'putConflict',
    row: { id: 'conflict-19fe', body: JSON.stringify({ clientData: { name: secret } }) },
  },
  { kind: 'setMeta', key: 'sync.lastNote', value: secret },
];

/** Every file SQLite keeps for a database: the main file and, while open, its WAL. */
function rawSqliteBytes(path: string): string {
  return ['', '-wal', '-journal']
    .map((suffix) => path + suffix)
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file).toString('latin1'))
    .join('');
}

async function expectEveryRowReadable(store: LocalStore): Promise<void> {
  expect((await store.getEntity('patient', entityId))?.body).toContain(secret);
  expect((await store.listOutbox())[0]?.body).toContain(secret);
  expect((await store.listOutbox())[0]?.error).toContain(secret);
  expect((await store.listConflicts())[0]?.body).toContain(secret);
  expect(await store.getMeta('sync.lastNote')).toBe(secret);
}

describe('encryption at rest', () => {
  it('reads the raw storage of an encrypted client and finds no plaintext payload (SQLite file)', async () => {
    const clearPath = join(dir, 'clear.db');
    const clear = sqliteStorage(clearPath);
    await clear.write(writes);
    // The control: the same rows written without encryption are found in the raw bytes, so the
    // search below would see the payload if it were there.
    expect(rawSqliteBytes(clearPath)).toContain(secret);
    await clear.close();

    const path = join(dir, 'encrypted.db');
    const store = await encryptLocalStore(sqliteStorage(path), options);
    await store.write(writes);
    await expectEveryRowReadable(store);
    const whileOpen = rawSqliteBytes(path);
    expect(whileOpen).not.toContain(secret);
    expect(whileOpen).toContain(entityId);
    await store.close();

    const closed = rawSqliteBytes(path);
    expect(closed).not.toContain(secret);
    expect(closed).toContain(entityId);
    expect(closed).toContain('mutation-8d2b');

    const db = new BetterSqlite3(path, { readonly: true });
    try {
      const cells = [
        ...db.prepare('SELECT body FROM entities').pluck().all(),
        ...db.prepare('SELECT body FROM outbox').pluck().all(),
        ...db.prepare('SELECT error FROM outbox').pluck().all(),
        ...db.prepare('SELECT body FROM conflicts').pluck().all(),
        db.prepare("SELECT value FROM meta WHERE key = 'sync.lastNote'").pluck().get(),
      ];
      expect(cells).toHaveLength(5);
      for (const cell of cells) expect(cell).toMatch(/^enc1:[A-Za-z0-9+/]+=*$/);
      expect(db.prepare('SELECT type, id, version FROM entities').all()).toEqual([
        { type: 'patient', id: entityId, version: 3 },
      ]);
    } finally {
      db.close();
    }

    const reopened = await encryptLocalStore(sqliteStorage(path), options);
    await expectEveryRowReadable(reopened);
    await reopened.close();
  });

  it('finds no plaintext payload in the raw rows of memory and IndexedDB', async () => {
    const memory = memoryStorage();
    const overMemory = await encryptLocalStore(memory, options);
    await overMemory.write(writes);
    await expectEveryRowReadable(overMemory);
    const memoryRows = JSON.stringify([
      await memory.listEntities('patient'),
      await memory.listOutbox(),
      await memory.listConflicts(),
      await memory.getMeta('sync.lastNote'),
    ]);
    expect(memoryRows).not.toContain(secret);
    expect(memoryRows).toContain(entityId);

    const overIndexedDb = await encryptLocalStore(indexedDbStorage('at-rest'), options);
    await overIndexedDb.write(writes);
    await expectEveryRowReadable(overIndexedDb);
    await overIndexedDb.close();
    const raw = await openDB('at-rest');
    const everyObjectStore = await Promise.all(
      [...raw.objectStoreNames].map((name) => raw.getAll(name)),
    );
    raw.close();
    const indexedDbRows = JSON.stringify(everyObjectStore);
    expect(indexedDbRows).not.toContain(secret);
    expect(indexedDbRows).toContain(entityId);
  });

  it('lets a write made just before close reach the file', async () => {
    const path = join(dir, 'close.db');
    const store = await encryptLocalStore(sqliteStorage(path), options);
    const writing = store.write(writes);
    await store.close();
    await writing;
    await expect(store.write(writes)).rejects.toThrow(/closed/);
    const reopened = await encryptLocalStore(sqliteStorage(path), options);
    await expectEveryRowReadable(reopened);
    await reopened.close();
  });

  it('encrypts the same value twice to different ciphertexts (a fresh IV each time)', async () => {
    const memory = memoryStorage();
    const store = await encryptLocalStore(memory, options);
    await store.write([{ kind: 'setMeta', key: 'a', value: secret }]);
    const first = await memory.getMeta('a');
    await store.write([{ kind: 'setMeta', key: 'a', value: secret }]);
    expect(await memory.getMeta('a')).not.toBe(first);
  });

  it('refuses a wrong passphrase at open with a clear error, and the right one still opens', async () => {
    const path = join(dir, 'passphrase.db');
    const store = await encryptLocalStore(sqliteStorage(path), options);
    await store.write(writes);
    await store.close();

    const inner = sqliteStorage(path);
    const opening = encryptLocalStore(inner, { ...options, passphrase: 'wrong passphrase' });
    await expect(opening).rejects.toBeInstanceOf(LocalStoreEncryptionError);
    await expect(opening).rejects.toMatchObject({
      code: 'WRONG_PASSPHRASE',
      message: 'The passphrase does not open this encrypted local store',
    });
    await inner.close();

    const again = await encryptLocalStore(sqliteStorage(path), options);
    await expectEveryRowReadable(again);
    await again.close();
  });

  it('refuses to read a tampered ciphertext or one moved to another row', async () => {
    const memory = memoryStorage();
    const store = await encryptLocalStore(memory, options);
    await store.write(writes);
    const row = (await memory.getEntity('patient', entityId))!;

    const flipped = row.body!.slice(0, -4) + (row.body!.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await memory.write([{ kind: 'putEntity', row: { ...row, body: flipped } }]);
    await expect(store.getEntity('patient', entityId)).rejects.toMatchObject({
      code: 'UNREADABLE_VALUE',
    });

    await memory.write([{ kind: 'putEntity', row: { ...row, id: 'patient-other' } }]);
    await expect(store.getEntity('patient', 'patient-other')).rejects.toMatchObject({
      code: 'UNREADABLE_VALUE',
    });
  });

  it('keeps its own settings in clear meta and refuses to let them be overwritten', async () => {
    const memory = memoryStorage();
    const store = await encryptLocalStore(memory, { passphrase: 'p' });
    expect(await memory.getMeta('syncline.encryption.iterations')).toBe(
      String(encryptLocalStoreDefaults.iterations),
    );
    expect(await memory.getMeta('syncline.encryption.salt')).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    await expect(
      store.write([{ kind: 'setMeta', key: 'syncline.encryption.salt', value: 'x' }]),
    ).rejects.toBeInstanceOf(InvalidStorageWriteError);
  });

  it('will not start encrypting a store that already holds unencrypted rows', async () => {
    const memory = memoryStorage();
    await memory.write(writes);
    await expect(encryptLocalStore(memory, options)).rejects.toMatchObject({
      code: 'NOT_AN_ENCRYPTED_STORE',
    });
    await expect(encryptLocalStore(memoryStorage(), { passphrase: '' })).rejects.toThrow(
      /non-empty passphrase/,
    );
  });
});
