// The twin is a second connection to the same file, as a second process opens (the two-process
// case runs in test/e2e/sdk-two-processes.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { runLocalStoreConformance } from '../../testing/local-store-conformance.js';
import { sqliteStorage } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'syncline-client-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let opened = 0;
const path = () => join(dir, `store-${opened}.db`);

runLocalStoreConformance('sqliteStorage', {
  open: async () => {
    opened += 1;
    return sqliteStorage(path());
  },
  twin: async () => sqliteStorage(path()),
  reopen: async () => sqliteStorage(path()),
});
