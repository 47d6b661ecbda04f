// The LocalStore contract holds through the encryption, over memory and over a SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { runLocalStoreConformance } from '../testing/local-store-conformance.js';
import { encryptLocalStore } from './encrypted-store.js';
import { memoryStorage } from './memory/memory-store.js';
import { sqliteStorage } from './sqlite/sqlite-store.js';

// Few iterations keep the suite fast; the iteration count does not change what is stored.
const options = { passphrase: 'correct horse battery staple', iterations: 1000 };

runLocalStoreConformance('encryptLocalStore(memoryStorage())', () =>
  encryptLocalStore(memoryStorage(), options),
);

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
