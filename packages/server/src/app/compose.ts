// The composition root: the one place that builds Syncline's services from a configuration. The
// CLI and the test app both call it, so a test server is wired like production (the realtime hook
// that feeds GET /api/sync/stream included); buildServer receives the result and builds nothing.
import {
  createCollectionRegistry,
  type CollectionRegistry,
  type CollectionsConfig,
} from '../engine/collections.js';
import type { HostResolver } from '../replay/ports.js';
import type { Clock, Logger } from '../engine/ports.js';
import { createSyncEngine } from '../engine/sync-engine.js';
import { createSchemaCompiler } from '../http/ajv-schema-compiler.js';
import type { ServerServices } from '../http/build-server.js';
import { assertCollectionsConfig } from '../http/collections-config.js';
import { createServerMetrics } from '../http/metrics.js';
import { nodeCrypto } from '../http/node-crypto.js';
import { createBackgroundJobs, everyFromEnv, type BackgroundJobs } from '../jobs/index.js';
import { createOfflineReplay } from './offline-replay.js';
import { replayDueOperations, type OfflineReplay } from '../replay/replayer.js';
import type { RealtimeBus } from '../realtime/realtime-bus.js';
import { createRealtime } from '../realtime/realtime.js';
import { presetCollections, seedRoutes } from '../seeds/index.js';
import { DashboardQueries } from '../store/dashboard-queries.js';
import type { KyselySyncStore } from '../store/kysely-sync-store.js';

type Env = Record<string, string | undefined>;

export interface ComposeOptions {
  /** An open store; the caller owns it and closes it after the services. */
  store: KyselySyncStore;
  /** A registry, or a config to build one from (default: presets only). */
  collections?: CollectionRegistry | CollectionsConfig;
  /** The engine's, realtime's and the jobs' logger (the server's pino logger in production). */
  logger?: Logger;
  /** Redis pub/sub across instances (createRedisBus); in memory without one. */
  realtimeBus?: RealtimeBus;
  /**
   * SYNCLINE_UPSTREAM_ALLOW: the only hosts a business's upstream base URL may name, and the
   * private networks it may reach (default: any host at a public address).
   */
  upstreamAllow?: readonly string[];
  /** SYNCLINE_UPSTREAM_DNS: how upstream host names resolve (default: the system resolver). */
  resolver?: HostResolver;
  /** The jobs' environment (SYNCLINE_JOBS, SYNCLINE_JOB_<NAME>_EVERY, …); default none set. */
  jobsEnv?: Env;
  clock?: Clock;
}

/**
 * The engine is counted into `metrics` and publishes every commit to `realtime`; seed 003's
 * queued requests are sent by the routes on demand and by the `replay-offline` job as retries
 * fall due.
 */
export interface SynclineServices extends ServerServices {
  /** Seed 003's offline operations and their replayer (its /api/offline routes and job use them). */
  readonly offlineReplay: OfflineReplay;
  readonly jobs: BackgroundJobs;
  /** Stops the jobs, flushes the engine and closes realtime (not the store, which the caller opened). */
  close(): Promise<void>;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

function isRegistry(
  value: CollectionRegistry | CollectionsConfig | undefined,
): value is CollectionRegistry {
  return typeof (value as Partial<CollectionRegistry> | undefined)?.get === 'function';
}

/**
 * The collection registry for a config (default: presets only), over the seeds' presets; throws
 * a one-line message when the config is malformed.
 */
export function createCollections(config?: CollectionsConfig): CollectionRegistry {
  return createCollectionRegistry(config && assertCollectionsConfig(config), presetCollections);
}

/** Throws a one-line message when the jobs' environment is wrong (nothing is left open then). */
export function composeServices(options: ComposeOptions): SynclineServices {
  const { store } = options;
  const logger = options.logger ?? silent;
  const logging = options.logger ? { logger: options.logger } : {};
  const collections = isRegistry(options.collections)
    ? options.collections
    : createCollections(options.collections);
  const metrics = createServerMetrics();
  const offlineReplay = createOfflineReplay({
    store,
    crypto: nodeCrypto,
    ...(options.upstreamAllow ? { upstreamAllow: options.upstreamAllow } : {}),
    ...(options.resolver ? { resolver: options.resolver } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const realtime = createRealtime({
    collections,
    ...logging,
    ...(options.realtimeBus ? { bus: options.realtimeBus } : {}),
  });
  const engine = metrics.instrumentEngine(
    createSyncEngine({
      store,
      collections,
      compileSchema: createSchemaCompiler(),
      crypto: nodeCrypto,
      ...logging,
      onCommitted: realtime.publish,
      ...(options.clock ? { clock: options.clock } : {}),
    }),
  );
  const jobsEnv = options.jobsEnv ?? {};
  let jobs: BackgroundJobs;
  try {
    jobs = createBackgroundJobs({
      env: jobsEnv,
      store,
      engine,
      logger,
      onJobRun: metrics.observeJobRun,
      extraJobs: [
        {
          name: 'replay-offline',
          everyMs: everyFromEnv(jobsEnv, 'replay-offline', 60_000),
          run: async () => {
            const { results: _results, ...counts } = await replayDueOperations(offlineReplay);
            return counts;
          },
        },
      ],
    });
  } catch (error) {
    void realtime.close();
    throw error;
  }
  return {
    store,
    collections,
    engine,
    realtime,
    offlineReplay,
    compatRoutes: seedRoutes({ engine, collections, offlineReplay }),
    jobs,
    settings: jobs.settings,
    metrics,
    dashboardQueries: new DashboardQueries(store),
    async close() {
      await jobs.stop();
      // Pulls' device times and sync-history rows wait in the engine's buffer: written now,
      // before the caller closes the store.
      await engine.close();
      await realtime.close();
    },
  };
}
