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

runLocalStoreConformance(
  'sqliteStorage',
  async () => {
    opened += 1;
    return sqliteStorage(path());
  },
  async () => sqliteStorage(path()),
);
