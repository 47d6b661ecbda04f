// Per-tenant maintenance settings: how long SYNCED mutations, old versions and tombstones are
// kept, and the thresholds that raise alerts. A tenant stores only what its admin overrode; the
// server-wide defaults (from the environment) fill in the rest, so changing a default reaches
// every tenant that did not choose otherwise.
import type { Actor } from '../engine/actor.js';
import { requireAdmin } from '../engine/authorize.js';
import { SyncError } from '../engine/errors.js';
import type { Clock } from '../engine/ports.js';
import type { MaintenanceQueries } from '../store/maintenance-queries.js';
import {
  tenantSettingsDefaults,
  type AlertSettings,
  type RetentionSettings,
  type TenantSettings,
} from '../config/jobs.js';

export { tenantSettingsDefaults, type AlertSettings, type RetentionSettings, type TenantSettings };

/** What an admin may send: any subset; null puts a field back to the server default. */
export type TenantSettingsPatch = {
  [S in keyof TenantSettings]?: { [K in keyof TenantSettings[S]]?: number | null };
};

type Overrides = {
  [S in keyof TenantSettings]?: Partial<TenantSettings[S]>;
};

/** Inclusive bounds of every setting: what PATCH accepts. */
export const tenantSettingsBounds: {
  [S in keyof TenantSettings]: { [K in keyof TenantSettings[S]]: { min: number; max: number } };
} = {
  retention: {
    mutationsDays: { min: 0, max: 3650 },
    historyDays: { min: 0, max: 3650 },
    tombstonesDays: { min: 0, max: 3650 },
  },
  alerts: {
    failureRatePercent: { min: 0, max: 100 },
    minMutations: { min: 1, max: 1_000_000 },
    pendingConflicts: { min: 0, max: 1_000_000 },
    syncDelayMinutes: { min: 1, max: 525_600 },
    windowHours: { min: 1, max: 8760 },
  },
};

const sections = Object.keys(tenantSettingsBounds) as (keyof TenantSettings)[];

/** The defaults with the tenant's overrides laid over them; unknown or out-of-range keys are ignored. */
export function effectiveSettings(defaults: TenantSettings, overrides: unknown): TenantSettings {
  const clean = cleanOverrides(overrides);
  return {
    retention: { ...defaults.retention, ...clean.retention },
    alerts: { ...defaults.alerts, ...clean.alerts },
  };
}

function cleanOverrides(value: unknown): Overrides {
  const out: Record<string, Record<string, number>> = {};
  if (typeof value !== 'object' || value === null) return out;
  for (const section of sections) {
    const given = (value as Record<string, unknown>)[section];
    if (typeof given !== 'object' || given === null) continue;
    const bounds = tenantSettingsBounds[section] as Record<string, { min: number; max: number }>;
    for (const [key, range] of Object.entries(bounds)) {
      const n = (given as Record<string, unknown>)[key];
      if (typeof n === 'number' && Number.isInteger(n) && n >= range.min && n <= range.max) {
        (out[section] ??= {})[key] = n;
      }
    }
  }
  return out as Overrides;
}

/** Applies a patch to stored overrides: a number sets, null clears. Refuses unknown keys and bad values. */
export function applySettingsPatch(overrides: unknown, patch: TenantSettingsPatch): Overrides {
  const next = cleanOverrides(overrides) as Record<string, Record<string, number>>;
  const problems: string[] = [];
  for (const [section, fields] of Object.entries(patch)) {
    const bounds = (
      tenantSettingsBounds as Record<string, Record<string, { min: number; max: number }>>
    )[section];
    if (!bounds || typeof fields !== 'object' || fields === null) {
      problems.push(`/${section}: not a settings section`);
      continue;
    }
    for (const [key, value] of Object.entries(fields as Record<string, unknown>)) {
      const range = bounds[key];
      if (!range) {
        problems.push(`/${section}/${key}: not a setting`);
      } else if (value === null) {
        if (next[section]) delete next[section][key];
      } else if (
        typeof value !== 'number' ||
        !Number.isInteger(value) ||
        value < range.min ||
        value > range.max
      ) {
        problems.push(`/${section}/${key}: must be an integer from ${range.min} to ${range.max}`);
      } else {
        (next[section] ??= {})[key] = value;
      }
    }
  }
  if (problems.length > 0) {
    throw new SyncError('VALIDATION_FAILED', problems.join('; '), { problems });
  }
  for (const section of Object.keys(next)) {
    if (Object.keys(next[section] ?? {}).length === 0) delete next[section];
  }
  return next as Overrides;
}

export interface TenantSettingsView {
  /** What the jobs use: defaults with the tenant's overrides. */
  settings: TenantSettings;
  /** Only what the tenant's admins chose. */
  overrides: Overrides;
  defaults: TenantSettings;
  updatedAt: string | null;
  updatedBy: string | null;
}

export interface TenantSettingsService {
  get(actor: Actor): Promise<TenantSettingsView>;
  update(actor: Actor, patch: TenantSettingsPatch): Promise<TenantSettingsView>;
  /** Every tenant's effective settings are these defaults plus its overrides. */
  readonly defaults: TenantSettings;
  /** Overrides of every tenant that has any (jobs read them once per run). */
  allOverrides(): Promise<Map<string, unknown>>;
}

export function createTenantSettingsService(options: {
  queries: MaintenanceQueries;
  defaults?: TenantSettings;
  clock?: Clock;
}): TenantSettingsService {
  const { queries } = options;
  const defaults = options.defaults ?? tenantSettingsDefaults;
  const clock = options.clock ?? { now: () => new Date() };

  async function view(tenant: string): Promise<TenantSettingsView> {
    const stored = await queries.getSettings(tenant);
    const overrides = cleanOverrides(stored?.settings);
    return {
      settings: effectiveSettings(defaults, overrides),
      overrides,
      defaults,
      updatedAt: stored?.updatedAt ?? null,
      updatedBy: stored?.updatedBy ?? null,
    };
  }

  return {
    defaults,
    async get(actor) {
      requireAdmin(actor);
      return view(actor.tenant);
    },
    async update(actor, patch) {
      requireAdmin(actor);
      await queries.updateSettings(actor.tenant, (stored) => {
        const overrides = applySettingsPatch(stored, patch);
        return {
          settings: overrides,
          audit: {
            actor: actor.userId,
            action: 'settings.update',
            target: null,
            details: { patch, overrides },
            createdAt: clock.now().toISOString(),
          },
        };
      });
      return view(actor.tenant);
    },
    allOverrides: () => queries.listSettings(),
  };
}
