// The background jobs' settings and their defaults: how often each maintenance job runs, how many
// attempts a FAILED mutation gets, and the server-wide defaults of every tenant's settings
// (jobs/tenant-settings.ts), which config/jobs-env.ts overrides from the environment.

/** Job names and how often each runs by default. */
export const maintenanceScheduleDefaults = {
  'retry-failed': 5 * 60_000,
  'cleanup-synced': 60 * 60_000,
  'prune-history': 60 * 60_000,
  'evaluate-alerts': 5 * 60_000,
} as const;

/** A FAILED mutation is retried by the schedule until it has this many attempts; then it waits for a person. */
export const retryAttemptsDefault = 10;

export interface RetentionSettings {
  /** Days a SYNCED mutation (its idempotency record) is kept; 0 keeps them forever. */
  mutationsDays: number;
  /** Days an older version of an entity is kept; the latest version always stays. 0: forever. */
  historyDays: number;
  /** Days a deleted entity's tombstone is kept for devices to learn of the delete. 0: forever. */
  tombstonesDays: number;
}

export interface AlertSettings {
  /** A device whose share of FAILED mutations (in the window) exceeds this raises an alert. */
  failureRatePercent: number;
  /** The failure rate counts only for devices with at least this many mutations in the window. */
  minMutations: number;
  /** More conflicts waiting for review than this raises an alert. */
  pendingConflicts: number;
  /** A change that waited longer than this on its device before arriving raises an alert. */
  syncDelayMinutes: number;
  /** How far back the failure rate and sync delay look. */
  windowHours: number;
}

export interface TenantSettings {
  retention: RetentionSettings;
  alerts: AlertSettings;
}

export const tenantSettingsDefaults: TenantSettings = {
  retention: { mutationsDays: 30, historyDays: 90, tombstonesDays: 90 },
  // Seed 001's monitoring query flags devices failing more than 10% of their operations.
  alerts: {
    failureRatePercent: 10,
    minMutations: 5,
    pendingConflicts: 50,
    syncDelayMinutes: 24 * 60,
    windowHours: 24,
  },
};
