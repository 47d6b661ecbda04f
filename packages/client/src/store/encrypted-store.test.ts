// The LocalStore contract holds through the encryption, over memory, IndexedDB and a SQLite file.
import 'fake-indexeddb/auto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { LocalStore } from '../core/ports.js';
import { runLocalStoreConformance } from '../testing/local-store-conformance.js';
import { encryptLocalStore } from './encrypted-store.js';
import { indexedDbStorage } from './indexeddb/indexeddb-store.js';
import { memoryStorage } from './memory/memory-store.js';
import { sqliteStorage } from './sqlite/sqlite-store.js';

// Few iterations keep the suite fast; the iteration count does not change what is stored.
const options = { passphrase: 'correct horse battery staple', iterations: 1000 };

// The twin of an encrypted store is the same encryption over a twin of its inner store.
let memory: LocalStore | undefined;
runLocalStoreConformance('encryptLocalStore(memoryStorage())', {
  open: () => encryptLocalStore((memory = memoryStorage()), options),
  twin: () => encryptLocalStore(memory!, options),
});

let databases = 0;
runLocalStoreConformance('encryptLocalStore(indexedDbStorage())', {
  open: async () => {
    databases += 1;
    return encryptLocalStore(indexedDbStorage(`encrypted-${databases}`), options);
  },
  twin: () => encryptLocalStore(indexedDbStorage(`encrypted-${databases}`), options),
});

const dir = mkdtempSync(join(tmpdir(), 'syncline-client-encrypted-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let opened = 0;
const path = () => join(dir, `store-${opened}.db`);

runLocalStoreConformance('encryptLocalStore(sqliteStorage())', {
  open: async () => {
    opened += 1;
    return encryptLocalStore(sqliteStorage(path()), options);
  },
  twin: () => encryptLocalStore(sqliteStorage(path()), options),
  reopen: () => encryptLocalStore(sqliteStorage(path()), options),
});
