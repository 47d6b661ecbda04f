// Syncline over HTTP (a `syncline serve` process), Syncline's store alone (in process) and the
// reference server (a process of its own), measured in one run: throughput side by side
// (throughput.ts), then pushes of 10 from many devices at once (concurrent-push.ts). SQLite
// always; PostgreSQL too when a URL is given (Syncline and its store on PostgreSQL against the same
// SQLite reference), in schemas of their own that are dropped afterwards.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyncStore } from '../packages/server/src/engine/ports.js';
import {
  createPostgresSyncStore,
  dropPostgresSchema,
  openStore,
} from '../packages/server/src/store/index.js';
import { startServer } from '../test/support/server-process.js';
import { benchConcurrentPush, type ConcurrentPushFigures } from './concurrent-push.js';
import {
  referenceContender,
  storeContender,
  synclineContender,
  type Contender,
} from './contenders.js';
import { startReference } from './reference-process.js';
import { benchThroughput, type Backend, type ThroughputRow } from './throughput.js';

export interface SideBySideOptions {
  changes: number;
  rounds: number;
  concurrentDevices: number;
  concurrentPushes: number;
  runId: string;
  pgUrl?: string | undefined;
}

export interface SideBySideFigures {
  throughput: ThroughputRow[];
  concurrentPush: ConcurrentPushFigures[];
}

/** What one backend needs: the server's environment, an in-process store, and the cleanup. */
interface BackendSetup {
  serverEnv: Record<string, string>;
  openStore(): Promise<SyncStore>;
  cleanup(): Promise<void>;
}

async function sqliteSetup(): Promise<BackendSetup> {
  const dataDir = await mkdtemp(join(tmpdir(), 'syncline-bench-store-'));
  return {
    serverEnv: {},
    openStore: () => openStore({ dataDir }),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
}

function postgresSetup(pgUrl: string): BackendSetup {
  const serverSchema = `syncline_bench_${randomBytes(6).toString('hex')}`;
  const storeSchema = `syncline_bench_${randomBytes(6).toString('hex')}`;
  const serverUrl = new URL(pgUrl);
  serverUrl.searchParams.set('schema', serverSchema);
  return {
    serverEnv: { SYNCLINE_DB_URL: serverUrl.toString() },
    openStore: () => createPostgresSyncStore({ url: pgUrl, schema: storeSchema }),
    async cleanup() {
      await dropPostgresSchema(pgUrl, serverSchema);
      await dropPostgresSchema(pgUrl, storeSchema);
    },
  };
}

async function benchBackend(
  backend: Backend,
  setup: BackendSetup,
  reference: Contender,
  options: SideBySideOptions,
  figures: SideBySideFigures,
) {
  try {
    const server = await startServer({
      env: { SYNCLINE_JOBS: 'off', SYNCLINE_LOG_LEVEL: 'error', ...setup.serverEnv },
    });
    const store = await setup.openStore();
    try {
      const syncline = synclineContender(server);
      const contenders = [syncline, storeContender(store), reference];
      figures.throughput.push(...(await benchThroughput(backend, contenders, options)));
      // The reference's latency is measured once, beside Syncline on SQLite.
      const concurrent = backend === 'sqlite' ? [syncline, reference] : [syncline];
      for (const contender of concurrent) {
        figures.concurrentPush.push(
          await benchConcurrentPush(backend, contender, {
            devices: options.concurrentDevices,
            pushes: options.concurrentPushes,
            runId: options.runId,
          }),
        );
      }
    } finally {
      await store.close();
      await server.stop();
    }
  } finally {
    await setup.cleanup();
  }
}

export async function benchSideBySide(options: SideBySideOptions): Promise<SideBySideFigures> {
  const figures: SideBySideFigures = { throughput: [], concurrentPush: [] };
  const referenceProcess = await startReference();
  try {
    const reference = referenceContender(referenceProcess);
    await benchBackend('sqlite', await sqliteSetup(), reference, options, figures);
    if (options.pgUrl) {
      await benchBackend('postgres', postgresSetup(options.pgUrl), reference, options, figures);
    } else {
      console.error('  (PostgreSQL skipped: set SYNCLINE_BENCH_PG_URL to include it)');
    }
  } finally {
    await referenceProcess.stop();
  }
  return figures;
}
