// IndexedDB through fake-indexeddb, an in-process implementation of the IndexedDB specification;
// the twin is a second connection to the same database, as a second tab opens. Run twice: with
// getAll's direction (IndexedDB 3.0), and without it, as older engines read backwards by cursor.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe } from 'vitest';
import { runLocalStoreConformance } from '../../testing/local-store-conformance.js';
import { indexedDbStorage } from './indexeddb-store.js';

let opened = 0;
const name = () => `syncline-conformance-${opened}`;
const adapter = {
  open: async () => {
    opened += 1;
    return indexedDbStorage(name());
  },
  twin: async () => indexedDbStorage(name()),
  reopen: async () => indexedDbStorage(name()),
};

runLocalStoreConformance('indexedDbStorage', adapter);

describe('without getAll directions', () => {
  const prototype = IDBIndex.prototype as { getAllRecords?: unknown };
  const getAllRecords = prototype.getAllRecords;
  beforeAll(() => {
    delete prototype.getAllRecords;
  });
  afterAll(() => {
    prototype.getAllRecords = getAllRecords;
  });
  runLocalStoreConformance('indexedDbStorage', adapter);
});
