// IndexedDB through fake-indexeddb, an in-process implementation of the IndexedDB specification.
import 'fake-indexeddb/auto';
import { runLocalStoreConformance } from '../../testing/local-store-conformance.js';
import { indexedDbStorage } from './indexeddb-store.js';

let opened = 0;
const name = () => `syncline-conformance-${opened}`;

runLocalStoreConformance(
  'indexedDbStorage',
  async () => {
    opened += 1;
    return indexedDbStorage(name());
  },
  async () => indexedDbStorage(name()),
);
