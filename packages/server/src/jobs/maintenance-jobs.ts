// The built-in maintenance jobs: retry FAILED mutations, clean up old SYNCED ones, prune history
// and tombstones past retention, and evaluate alert thresholds. Each works tenant by tenant with
// that tenant's settings and records what it changed in the tenant's own audit trail.
import type { ChangeResult } from '@syncline/protocol';
import type { Actor } from '../engine/actor.js';
import type { SyncEngine } from '../engine/engine-api.js';
import type { Logger, SyncStore } from '../engine/ports.js';
import type { MaintenanceQueries } from '../store/maintenance-queries.js';
import { maintenanceScheduleDefaults, retryAttemptsDefault } from '../config/jobs.js';
import { systemActor, systemTenant, type JobDefinition } from './job-registry.js';
import {
  effectiveSettings,
  type TenantSettings,
  type TenantSettingsService,
} from './tenant-settings.js';

export interface MaintenanceJobDeps {
  engine: SyncEngine;
  store: SyncStore;
  queries: MaintenanceQueries;
  settings: TenantSettingsService;
  logger: Logger;
}

export { maintenanceScheduleDefaults, retryAttemptsDefault };

export type MaintenanceJobName = keyof typeof maintenanceScheduleDefaults;

const DAY_MS = 24 * 60 * 60_000;

/** The system acting as a tenant's admin: the engine re-runs each mutation as its owner. */
const systemAdmin = (tenant: string): Actor => ({
  tenant,
  userId: systemActor,
  role: 'admin',
  claims: {},
});

async function settingsByTenant(
  settings: TenantSettingsService,
): Promise<(tenant: string) => TenantSettings> {
  const overrides = await settings.allOverrides();
  return (tenant) => effectiveSettings(settings.defaults, overrides.get(tenant));
}

export interface MaintenanceJobOptions {
  everyMs?: Partial<Record<MaintenanceJobName, number>>;
  /** See retryAttemptsDefault. */
  retryMaxAttempts?: number;
}

export function maintenanceJobs(
  deps: MaintenanceJobDeps,
  options: MaintenanceJobOptions = {},
): JobDefinition[] {
  const everyMs = options.everyMs ?? {};
  const maxAttempts = options.retryMaxAttempts ?? retryAttemptsDefault;
  const { engine, queries, logger } = deps;
  const every = (name: MaintenanceJobName) => everyMs[name] ?? maintenanceScheduleDefaults[name];

  const retryFailed: JobDefinition = {
    name: 'retry-failed',
    everyMs: every('retry-failed'),
    async run() {
      const tenants = await queries.tenantsWithMutations('FAILED');
      const counted: Record<string, number> = {};
      let retried = 0;
      for (const tenant of tenants) {
        const failed = await deps.store
          .forTenant(tenant)
          .listMutations({ statuses: ['FAILED'], limit: 1000 });
        const due = [
          ...new Set(failed.filter((m) => m.attempts < maxAttempts).map((m) => m.mutationId)),
        ];
        if (due.length === 0) continue;
        // One round, in bounded calls: each call's transactions are short, so the tenant's own
        // devices and every other tenant keep syncing while the job works through its backlog.
        let startedAt: string | undefined;
        for (;;) {
          const outcome = await engine.retryQueue(systemAdmin(tenant), {
            mutationIds: due,
            ...(startedAt !== undefined ? { startedAt } : {}),
          });
          startedAt = outcome.startedAt;
          retried += outcome.retried;
          for (const result of outcome.results) count(counted, result);
          if (!outcome.hasMore || outcome.retried === 0) break;
        }
      }
      return {
        tenants: tenants.length,
        retried,
        applied: counted.APPLIED ?? 0,
        duplicates: counted.DUPLICATE ?? 0,
        conflicts: counted.CONFLICT ?? 0,
        stillFailed: counted.REJECTED ?? 0,
      };
    },
  };

  const cleanupSynced: JobDefinition = {
    name: 'cleanup-synced',
    everyMs: every('cleanup-synced'),
    async run({ now }) {
      const settingsOf = await settingsByTenant(deps.settings);
      const tenants = await queries.tenantsWithMutations('SYNCED');
      let removed = 0;
      for (const tenant of tenants) {
        const days = settingsOf(tenant).retention.mutationsDays;
        if (days === 0) continue;
        const olderThan = new Date(now.getTime() - days * DAY_MS).toISOString();
        const n = await deleteInBatches((limit) =>
          queries.deleteSyncedMutations(tenant, olderThan, limit),
        );
        removed += n;
        if (n > 0) {
          await queries.insertAudit(tenant, {
            actor: systemActor,
            action: 'job:cleanup-synced',
            target: null,
            details: { removed: n, olderThan },
            createdAt: now.toISOString(),
          });
        }
      }
      // The jobs' own run records age out with the server-wide mutation retention.
      const keepDays = deps.settings.defaults.retention.mutationsDays;
      const runRows =
        keepDays === 0
          ? 0
          : await queries.deleteAuditBefore(
              systemTenant,
              'job:',
              new Date(now.getTime() - keepDays * DAY_MS).toISOString(),
            );
      return { tenants: tenants.length, removed, runRows };
    },
  };

  const pruneHistory: JobDefinition = {
    name: 'prune-history',
    everyMs: every('prune-history'),
    async run({ now }) {
      const settingsOf = await settingsByTenant(deps.settings);
      const tenants = await queries.listTenants();
      let versions = 0;
      let tombstones = 0;
      for (const tenant of tenants) {
        const { historyDays, tombstonesDays } = settingsOf(tenant).retention;
        const before = (days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
        const cutoffs = {
          ...(historyDays > 0 ? { historyBefore: before(historyDays) } : {}),
          ...(tombstonesDays > 0 ? { tombstonesBefore: before(tombstonesDays) } : {}),
        };
        if (Object.keys(cutoffs).length === 0) continue;
        const result = await queries.prune(tenant, cutoffs);
        versions += result.versions;
        tombstones += result.tombstones;
        if (result.versions > 0 || result.tombstones > 0) {
          await queries.insertAudit(tenant, {
            actor: systemActor,
            action: 'job:prune-history',
            target: null,
            details: { ...result, ...cutoffs },
            createdAt: now.toISOString(),
          });
        }
      }
      return { tenants: tenants.length, versions, tombstones };
    },
  };

  const evaluateAlerts: JobDefinition = {
    name: 'evaluate-alerts',
    everyMs: every('evaluate-alerts'),
    async run({ now }) {
      const settingsOf = await settingsByTenant(deps.settings);
      const tenants = await queries.listTenants();
      let raised = 0;
      let cleared = 0;
      let active = 0;
      for (const tenant of tenants) {
        const firing = await firingAlerts(queries, tenant, settingsOf(tenant).alerts, now);
        const known = await queries.listAlerts(tenant);
        const key = (a: { kind: string; subject: string }) => `${a.kind}\u0000${a.subject}`;
        const firingKeys = new Set(firing.map(key));
        for (const alert of firing) {
          const fresh = await queries.raiseAlert(tenant, {
            kind: alert.kind,
            subject: alert.subject,
            value: alert.value,
            raisedAt: now.toISOString(),
          });
          if (!fresh) continue;
          raised += 1;
          const details = { kind: alert.kind, value: alert.value, threshold: alert.threshold };
          await queries.insertAudit(tenant, {
            actor: systemActor,
            action: 'alert.raised',
            target: alert.subject,
            details,
            createdAt: now.toISOString(),
          });
          logger.warn({ tenant, subject: alert.subject, ...details }, alert.message);
        }
        for (const alert of known) {
          if (firingKeys.has(key(alert))) continue;
          if (!(await queries.clearAlert(tenant, alert.kind, alert.subject))) continue;
          cleared += 1;
          await queries.insertAudit(tenant, {
            actor: systemActor,
            action: 'alert.cleared',
            target: alert.subject,
            details: { kind: alert.kind, raisedAt: alert.raisedAt },
            createdAt: now.toISOString(),
          });
          logger.info({ tenant, kind: alert.kind, subject: alert.subject }, 'alert cleared');
        }
        active += firing.length;
      }
      return { tenants: tenants.length, raised, cleared, active };
    },
  };

  return [retryFailed, cleanupSynced, pruneHistory, evaluateAlerts];
}

/** Rows a cleanup statement deletes at most; between statements other requests get their turn. */
export const cleanupBatchSize = 1000;

/** Deletes in statements of `cleanupBatchSize` rows until one deletes fewer; the total. */
async function deleteInBatches(deleteSome: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await deleteSome(cleanupBatchSize);
    total += n;
    if (n < cleanupBatchSize) return total;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function count(counted: Record<string, number>, result: ChangeResult): void {
  counted[result.status] = (counted[result.status] ?? 0) + 1;
}

export interface FiringAlert {
  kind: 'device-failure-rate' | 'pending-conflicts' | 'sync-delay';
  /** What the alert is about: a device id, or `tenant`. */
  subject: string;
  value: number;
  threshold: number;
  message: string;
}

/** The thresholds a tenant is over right now (seed 001's and 002's monitoring). */
export async function firingAlerts(
  queries: MaintenanceQueries,
  tenant: string,
  thresholds: TenantSettings['alerts'],
  now: Date,
): Promise<FiringAlert[]> {
  const since = new Date(now.getTime() - thresholds.windowHours * 60 * 60_000).toISOString();
  const alerts: FiringAlert[] = [];
  for (const device of await queries.deviceFailures(tenant, since)) {
    if (device.total < thresholds.minMutations) continue;
    const rate = round2((device.failed / device.total) * 100);
    if (rate > thresholds.failureRatePercent) {
      alerts.push({
        kind: 'device-failure-rate',
        subject: device.deviceId,
        value: rate,
        threshold: thresholds.failureRatePercent,
        message: 'alert: device failure rate above threshold',
      });
    }
  }
  const pending = await queries.countPendingConflicts(tenant);
  if (pending > thresholds.pendingConflicts) {
    alerts.push({
      kind: 'pending-conflicts',
      subject: 'tenant',
      value: pending,
      threshold: thresholds.pendingConflicts,
      message: 'alert: conflicts waiting for review above threshold',
    });
  }
  for (const [deviceId, delayMs] of await queries.syncDelays(tenant, since)) {
    const minutes = round2(delayMs / 60_000);
    if (minutes > thresholds.syncDelayMinutes) {
      alerts.push({
        kind: 'sync-delay',
        subject: deviceId,
        value: minutes,
        threshold: thresholds.syncDelayMinutes,
        message: 'alert: sync delay above threshold',
      });
    }
  }
  return alerts;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
