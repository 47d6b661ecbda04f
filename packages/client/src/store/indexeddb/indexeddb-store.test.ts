// IndexedDB through fake-indexeddb, an in-process implementation of the IndexedDB specification;
// the twin is a second connection to the same database, as a second tab opens.
import 'fake-indexeddb/auto';
import { runLocalStoreConformance } from '../../testing/local-store-conformance.js';
import { indexedDbStorage } from './indexeddb-store.js';

let opened = 0;
const name = () => `syncline-conformance-${opened}`;

runLocalStoreConformance('indexedDbStorage', {
  open: async () => {
    opened += 1;
    return indexedDbStorage(name());
  },
  twin: async () => indexedDbStorage(name()),
  reopen: async () => indexedDbStorage(name()),
});
