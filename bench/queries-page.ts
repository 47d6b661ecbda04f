// The Chromium page of the indexed-query bench: visits loaded into a fresh IndexedDB database
// (through the encryption wrapper when asked), then a client on it times find() (queries-workload.ts).
import {
  createSyncClient,
  encryptLocalStore,
  indexedDbStorage,
} from '../packages/client/src/index.js';
import { collections, loadVisits, timeQueries } from './queries-workload.js';

const passphrase = 'bench pass phrase';

const bench = {
  async run(count: number, encrypted: boolean, runs: number, scanRuns: number) {
    const name = `queries-${encrypted ? 'encrypted' : 'plain'}-${Date.now()}`;
    const started = performance.now();
    const raw = indexedDbStorage(name);
    const store = encrypted ? await encryptLocalStore(raw, { passphrase, iterations: 1000 }) : raw;
    await loadVisits(store, count);
    await store.close();
    const loadSeconds = (performance.now() - started) / 1000;
    const client = createSyncClient({
      url: location.origin,
      getToken: () => 'unused: the bench never syncs',
      storage: indexedDbStorage(name),
      collections,
      realtime: false,
      ...(encrypted ? { encryption: { passphrase } } : {}),
    });
    try {
      const timings = await timeQueries(client, count, {
        runs,
        scanRuns,
        now: () => performance.now(),
      });
      return { loadSeconds, timings };
    } finally {
      await client.close();
      indexedDB.deleteDatabase(name);
    }
  },
};

(window as unknown as { bench: typeof bench }).bench = bench;
