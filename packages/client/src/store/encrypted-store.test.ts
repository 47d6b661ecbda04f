// The LocalStore contract holds through the encryption, over memory, IndexedDB and a SQLite file.
import 'fake-indexeddb/auto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { runLocalStoreConformance } from '../testing/local-store-conformance.js';
import { encryptLocalStore } from './encrypted-store.js';
import { indexedDbStorage } from './indexeddb/indexeddb-store.js';
import { memoryStorage } from './memory/memory-store.js';
import { sqliteStorage } from './sqlite/sqlite-store.js';

// Few iterations keep the suite fast; the iteration count does not change what is stored.
const options = { passphrase: 'correct horse battery staple', iterations: 1000 };

runLocalStoreConformance('encryptLocalStore(memoryStorage())', () =>
  encryptLocalStore(memoryStorage(), options),
);

let databases = 0;
runLocalStoreConformance('encryptLocalStore(indexedDbStorage())', async () => {
  databases += 1;
  return encryptLocalStore(indexedDbStorage(`encrypted-${databases}`), options);
});

const dir = mkdtempSync(join(tmpdir(), 'syncline-client-encrypted-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let opened = 0;
const path = () => join(dir, `store-${opened}.db`);

runLocalStoreConformance(
  'encryptLocalStore(sqliteStorage())',
  async () => {
    opened += 1;
    return encryptLocalStore(sqliteStorage(path()), options);
  },
  async () => encryptLocalStore(sqliteStorage(path()), options),
);
