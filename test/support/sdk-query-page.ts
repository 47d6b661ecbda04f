// The Chromium page of the indexed-query browser test: a client on IndexedDB with indexed visits
// (bench/queries-workload.ts's collection), syncing with the real server through the same origin.
// The test drives it through `window.queries`.
import {
  createSyncClient,
  indexedDbStorage,
  type Query,
  type SyncClient,
} from '../../packages/client/src/index.js';
import { collections, TYPE, visit, visitId, type Visit } from '../../bench/queries-workload.js';

let client: SyncClient | undefined;
const visits = () => {
  if (!client) throw new Error('open() first');
  return client.collection<Visit>(TYPE);
};

const queries = {
  open(token: string, database: string) {
    client = createSyncClient({
      url: location.origin,
      getToken: () => token,
      storage: indexedDbStorage(database),
      collections,
      realtime: false,
      batchSize: 500,
    });
  },
  /** Creates visits from..to-1 (ids and data as the bench makes them). */
  async create(from: number, to: number) {
    for (let i = from; i < to; i++) await visits().create(visit(i), { id: visitId(i) });
  },
  update: (id: string, patch: Partial<Visit>) => visits().update(id, patch),
  remove: (id: string) => visits().delete(id),
  async sync() {
    await client!.syncNow();
    return client!.status.pending;
  },
  /** The ids find() answers, in its order. */
  find: async (query: Query) => (await visits().find(query)).map((row) => row.id),
  /** getAll with a direction hidden, as in engines before it: reads backwards by cursor. */
  hideGetAllDirection() {
    delete (IDBIndex.prototype as { getAllRecords?: unknown }).getAllRecords;
    return 'getAllRecords' in IDBIndex.prototype;
  },
  hasGetAllDirection: () => 'getAllRecords' in IDBIndex.prototype,
};

export type QueriesApi = typeof queries;
(globalThis as unknown as { queries: QueriesApi }).queries = queries;
