// Offline operations replayed against a real upstream, on the embedded SQLite store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/index.js';
import { runOfflineReplaySuite } from '../testing/offline-replay-suite.js';

runOfflineReplaySuite('request replay on SQLite', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'syncline-replay-'));
  const store = await openStore({ dataDir });
  return {
    store,
    async dispose() {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
