// The page of the online-first, timeout and cross-origin browser tests: the SDK (bundled by
// esbuild) on IndexedDB, with the server URL and timeouts the test gives. Driven through
// `window.net`.
import {
  createSyncClient,
  indexedDbStorage,
  type SyncClient,
  type SyncStatus,
  type TimeoutOptions,
} from '../../packages/client/src/index.js';

let client: SyncClient | undefined;
const opened = () => {
  if (!client) throw new Error('open() first');
  return client;
};

export interface OpenOptions {
  url: string;
  token: string;
  database: string;
  start: boolean;
  timeouts?: Partial<TimeoutOptions>;
}

const net = {
  open(options: OpenOptions): Promise<string> {
    client = createSyncClient({
      url: options.url,
      getToken: () => options.token,
      storage: indexedDbStorage(options.database),
      realtime: false,
      syncIntervalMs: 60 * 60_000,
      retry: { initialDelayMs: 1_000, jitter: 0 },
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    });
    if (options.start) client.start();
    return client.deviceId();
  },
  create: (text: string) => opened().collection('note').create({ text }),
  status: (): SyncStatus => opened().status,
  /** syncNow(), reported as data: how it settled (the failure's kind and code) and how fast. */
  async syncNow(): Promise<{ ok: boolean; kind?: string; code?: string; ms: number }> {
    const started = performance.now();
    try {
      await opened().syncNow();
      return { ok: true, ms: performance.now() - started };
    } catch (error) {
      const { kind, details } = error as { kind?: string; details?: { code?: string } };
      const code = details?.code;
      return {
        ok: false,
        ...(kind ? { kind } : {}),
        ...(code ? { code } : {}),
        ms: performance.now() - started,
      };
    }
  },
  find: () => opened().collection('note').find(),
  start: () => opened().start(),
  close: () => opened().close(),
};

export type NetApi = typeof net;
(globalThis as unknown as { net: NetApi }).net = net;
