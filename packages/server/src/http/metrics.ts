// Prometheus metrics (prom-client): counters of the changes the engine settled, push and pull
// latency, server-wide gauges read at scrape time, job runs, and the process's own metrics, at
// GET /metrics. Labels stay bounded: an API name, a route pattern, an outcome — never a tenant,
// user or device. Guarded by SYNCLINE_METRICS_TOKEN; without one, only loopback clients may scrape.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ChangeResult } from '@syncline/protocol';
import type { SyncEngine } from '../engine/engine-api.js';
import { SyncError } from '../engine/errors.js';
import type { ServerTotals } from '../store/dashboard-queries.js';
import type { GroupCommitStats } from '../store/sqlite/group-commit.js';

/** Which API settled a change: the canonical push, seed 000's records, seed 001's queue. */
type ChangeApi = 'sync' | 'records' | 'queue';

export interface ServerMetrics {
  readonly registry: Registry;
  /** The same engine, with every settled change counted. */
  instrumentEngine(engine: SyncEngine): SyncEngine;
  /** A background job's run, as job-registry's runJob reports it. */
  observeJobRun(job: string, outcome: 'ok' | 'error'): void;
}

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createServerMetrics(): ServerMetrics {
  const registry = new Registry();
  const counter = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  const pushed = counter('syncline_changes_pushed_total', 'Changes received from devices', ['api']);
  const applied = counter('syncline_changes_applied_total', 'Changes written as a new version', [
    'api',
  ]);
  const duplicate = counter(
    'syncline_changes_duplicate_total',
    'Changes received again and answered with their first outcome',
    ['api'],
  );
  const conflicting = counter(
    'syncline_changes_conflict_total',
    'Changes that raised a conflict (settled by rule or waiting for review)',
    ['api'],
  );
  const rejected = counter('syncline_changes_rejected_total', 'Changes refused', ['api']);
  const jobRuns = counter('syncline_job_runs_total', 'Background job runs by outcome', [
    'job',
    'outcome',
  ]);

  const count = (api: ChangeApi, results: readonly ChangeResult[]) => {
    for (const result of results) {
      if (result.status === 'APPLIED') applied.inc({ api });
      else if (result.status === 'DUPLICATE') duplicate.inc({ api });
      else if (result.status === 'REJECTED') rejected.inc({ api });
      // An applied change that settled a conflict by rule counts as both, as the sync history does.
      if (result.status === 'CONFLICT' || (result.status === 'APPLIED' && result.conflictId)) {
        conflicting.inc({ api });
      }
    }
  };

  return {
    registry,
    instrumentEngine(engine) {
      return {
        ...engine,
        async push(actor, request, meta) {
          const response = await engine.push(actor, request, meta);
          pushed.inc({ api: 'sync' }, request.changes.length);
          count('sync', response.results);
          return response;
        },
        async upsert(actor, request, meta) {
          const result = await engine.upsert(actor, request, meta);
          pushed.inc({ api: 'records' }, request.changes.length);
          count(
            'records',
            result.outcomes.map((o) => o.result),
          );
          return result;
        },
        async pushDeferred(actor, request) {
          const result = await engine.pushDeferred(actor, request);
          pushed.inc({ api: 'queue' }, 1);
          return result;
        },
        async processMutation(actor, id) {
          const result = await engine.processMutation(actor, id);
          count('queue', [result.result]);
          return result;
        },
      };
    },
    observeJobRun(job, outcome) {
      jobRuns.inc({ job, outcome });
    },
  };
}

/** Node's own metrics (CPU, memory, event loop, GC): one set per process, made on first scrape. */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export interface MetricsPluginOptions {
  metrics: ServerMetrics;
  /** SYNCLINE_METRICS_TOKEN: the bearer token a scraper must send. */
  token?: string | undefined;
  /** Server-wide figures, read at each scrape. */
  totals?: (() => Promise<ServerTotals>) | undefined;
  /** Realtime streams open on this instance. */
  openStreams?: (() => number) | undefined;
  /** SQLite's group commit: COMMITs made and the writes they made durable, counted live. */
  groupCommits?: Readonly<GroupCommitStats> | undefined;
}

/** Routes whose latency is a push (changes in) or a pull (changes out), by route pattern. */
const pushRoutes = new Set([
  '/api/attendance/sync',
  '/api/v1/sync/queue',
  '/api/v1/sync/process/:id',
]);
const pullRoutes = new Set(['/api/sync/delta']);

const digest = (text: string) => createHash('sha256').update(text).digest();
const loopback = /^(127\.|::1$|::ffff:127\.)/;

export const metricsPlugin = fp<MetricsPluginOptions>(
  async (fastify, options) => {
    const { registry } = options.metrics;
    // Two servers on the same services (a test's second app) count into the same metrics.
    const latency = (name: string, help: string) =>
      (registry.getSingleMetric(name) as Histogram | undefined) ??
      new Histogram({
        name,
        help,
        labelNames: ['route'],
        buckets: latencyBuckets,
        registers: [registry],
      });
    const pushLatency = latency('syncline_push_duration_seconds', 'Time to answer a push');
    const pullLatency = latency('syncline_pull_duration_seconds', 'Time to answer a pull');
    const gauge = (name: string, help: string) =>
      (registry.getSingleMetric(name) as Gauge | undefined) ??
      new Gauge({ name, help, registers: [registry] });
    const pendingConflicts = gauge(
      'syncline_pending_conflicts',
      'Conflicts waiting for review, all tenants',
    );
    const failedMutations = gauge(
      'syncline_failed_mutations',
      'Mutations in FAILED, waiting for a retry or a person, all tenants',
    );
    const activeDevices = gauge(
      'syncline_active_devices',
      'Registered devices that synced in the last 24 hours, all tenants',
    );
    const openStreams = gauge(
      'syncline_realtime_streams',
      'Realtime streams open on this instance',
    );
    const { groupCommits } = options;
    if (groupCommits) {
      // Read from the store at each scrape: writes over commits is the mean group size.
      const storeCounter = (name: string, help: string, read: () => number) => {
        let counted = 0;
        return (
          registry.getSingleMetric(name) ??
          new Counter({
            name,
            help,
            registers: [registry],
            collect() {
              const now = read();
              this.inc(now - counted);
              counted = now;
            },
          })
        );
      };
      storeCounter(
        'syncline_sqlite_commits_total',
        'SQLite COMMITs of write transactions (one fsync each)',
        () => groupCommits.commits,
      );
      storeCounter(
        'syncline_sqlite_commit_writes_total',
        'Write transactions those COMMITs made durable (several share one under group commit)',
        () => groupCommits.writers,
      );
    }

    fastify.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
      const route = request.routeOptions.url;
      if (route === undefined || reply.statusCode >= 500) return;
      const seconds = reply.elapsedTime / 1000;
      if (route === '/api/sync') {
        const isPush = (request.body as { changes?: unknown[] } | undefined)?.changes?.length;
        (isPush ? pushLatency : pullLatency).observe({ route }, seconds);
      } else if (pushRoutes.has(route)) {
        pushLatency.observe({ route }, seconds);
      } else if (pullRoutes.has(route)) {
        pullLatency.observe({ route }, seconds);
      }
    });

    const expected = options.token ? digest(options.token) : undefined;
    fastify.get(
      '/metrics',
      {
        config: { auth: 'public' },
        schema: {
          tags: ['health'],
          summary: 'Prometheus metrics (bearer SYNCLINE_METRICS_TOKEN, else loopback only)',
          hide: true,
        },
      },
      async (request, reply) => {
        if (expected) {
          const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? '');
          if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
            throw new SyncError('UNAUTHENTICATED', 'Send Authorization: Bearer <metrics token>');
          }
        } else if (!loopback.test(request.socket.remoteAddress ?? '')) {
          // The socket's own address: a forwarded-for header cannot make a remote client local.
          throw new SyncError(
            'FORBIDDEN',
            'Set SYNCLINE_METRICS_TOKEN to scrape /metrics from another host',
          );
        }
        if (options.totals) {
          const totals = await options.totals();
          pendingConflicts.set(totals.pendingConflicts);
          failedMutations.set(totals.failedMutations);
          activeDevices.set(totals.activeDevices);
        }
        if (options.openStreams) openStreams.set(options.openStreams());
        const merged = Registry.merge([processMetrics(), registry]);
        return reply
          .type(merged.contentType)
          .header('cache-control', 'no-store')
          .send(await merged.metrics());
      },
    );
  },
  { name: 'syncline-metrics', dependencies: ['syncline-auth'], fastify: '5.x' },
);
