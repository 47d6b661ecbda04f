// The Chromium page of the first-sync bench: a fresh IndexedDB client syncs once and keeps every
// progress report it was given, for the bench to print.
import { createSyncClient, indexedDbStorage } from '../packages/client/src/index.js';

interface Sample {
  atMs: number;
  pulled: number;
  total: number;
}

const bench = {
  async run(token: string, pageSize: number) {
    const samples: Sample[] = [];
    const started = performance.now();
    const client = createSyncClient({
      url: location.origin,
      getToken: () => token,
      storage: indexedDbStorage(`first-sync-${Date.now()}`),
      realtime: false,
      snapshotPageSize: pageSize,
      onProgress: (p) => {
        if (p.phase === 'snapshot') {
          samples.push({
            atMs: performance.now() - started,
            pulled: p.pulled,
            total: p.total ?? 0,
          });
        }
      },
    });
    try {
      const summary = await client.syncNow();
      const seconds = (performance.now() - started) / 1000;
      const sample = await client.collection('item').get('e0000001');
      return { seconds, pulled: summary.pulled, samples, sampleFound: sample !== undefined };
    } finally {
      await client.close();
    }
  },
};

(window as unknown as { bench: typeof bench }).bench = bench;
