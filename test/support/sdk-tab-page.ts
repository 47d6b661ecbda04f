// The page each Chromium tab of the browser tests loads: the SDK from its sources (bundled by
// esbuild), on IndexedDB, talking to the sync server through the same origin. The test drives it
// through `window.tab`.
import {
  createSyncClient,
  indexedDbStorage,
  type SyncClient,
  type SyncStatus,
} from '../../packages/client/src/index.js';

export interface Note {
  text: string;
  by: string;
  seen?: string;
}

let client: SyncClient | undefined;
let notices = 0;
const opened = () => {
  if (!client) throw new Error('open() first');
  return client;
};
const notes = () => opened().collection<Note>('note');

const tab = {
  /** Opens a client on the database and starts syncing; resolves to the device id. */
  async open(token: string, database: string): Promise<string> {
    client = createSyncClient({
      url: location.origin,
      getToken: () => token,
      storage: indexedDbStorage(database),
      collections: { note: {} },
      realtime: false,
      retry: { initialDelayMs: 100, maxDelayMs: 1_000 },
    });
    notes().subscribe(() => (notices += 1));
    client.start();
    return client.deviceId();
  },
  create: (text: string, by: string) => notes().create({ text, by }),
  /** Several creates at once, as a burst of taps. */
  createMany: (texts: string[], by: string) =>
    Promise.all(texts.map((text) => notes().create({ text, by }))),
  update: (id: string, patch: Partial<Note>) => notes().update(id, patch),
  remove: (id: string) => notes().delete(id),
  find: () => notes().find(),
  status: (): SyncStatus => opened().status,
  /** How often the app heard of a change to notes (its own or another tab's). */
  notices: () => notices,
  hasWebLocks: () => typeof navigator.locks?.request === 'function',
};

export type TabApi = typeof tab;
(globalThis as unknown as { tab: TabApi }).tab = tab;
