// Admin routes for the tenant's maintenance settings (retention, alert thresholds): read them,
// change some. Tenant admins only; every change leaves an audit row.
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { tenantSettingsBounds, type TenantSettingsService } from '../jobs/tenant-settings.js';
import { actorOf } from './auth.js';
import { withErrors } from './schemas.js';

export interface SettingsRoutesOptions {
  settings: TenantSettingsService;
}

const b = tenantSettingsBounds;
const int = (range: { min: number; max: number }) =>
  Type.Integer({ minimum: range.min, maximum: range.max });
const orNull = (range: { min: number; max: number }) =>
  Type.Optional(Type.Union([int(range), Type.Null()]));
const closed = { additionalProperties: false } as const;

const retentionSchema = Type.Object(
  {
    mutationsDays: int(b.retention.mutationsDays),
    historyDays: int(b.retention.historyDays),
    tombstonesDays: int(b.retention.tombstonesDays),
  },
  closed,
);
const alertsSchema = Type.Object(
  {
    failureRatePercent: int(b.alerts.failureRatePercent),
    minMutations: int(b.alerts.minMutations),
    pendingConflicts: int(b.alerts.pendingConflicts),
    syncDelayMinutes: int(b.alerts.syncDelayMinutes),
    windowHours: int(b.alerts.windowHours),
  },
  closed,
);
const settingsSchema = Type.Object({ retention: retentionSchema, alerts: alertsSchema });

/** Any subset of the settings; null puts a setting back to the server default. */
export const settingsPatchSchema = Type.Object(
  {
    retention: Type.Optional(
      Type.Object(
        {
          mutationsDays: orNull(b.retention.mutationsDays),
          historyDays: orNull(b.retention.historyDays),
          tombstonesDays: orNull(b.retention.tombstonesDays),
        },
        closed,
      ),
    ),
    alerts: Type.Optional(
      Type.Object(
        {
          failureRatePercent: orNull(b.alerts.failureRatePercent),
          minMutations: orNull(b.alerts.minMutations),
          pendingConflicts: orNull(b.alerts.pendingConflicts),
          syncDelayMinutes: orNull(b.alerts.syncDelayMinutes),
          windowHours: orNull(b.alerts.windowHours),
        },
        closed,
      ),
    ),
  },
  { ...closed, minProperties: 1 },
);

export const settingsViewSchema = Type.Object({
  settings: settingsSchema,
  overrides: Type.Object({
    retention: Type.Optional(Type.Partial(retentionSchema)),
    alerts: Type.Optional(Type.Partial(alertsSchema)),
  }),
  defaults: settingsSchema,
  updatedAt: Type.Union([Type.String(), Type.Null()]),
  updatedBy: Type.Union([Type.String(), Type.Null()]),
});

export const settingsRoutesPlugin = fp<SettingsRoutesOptions>(
  async (instance, { settings }) => {
    const fastify = instance.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['admin'];

    fastify.get(
      '/api/sync/admin/settings',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: "The tenant's retention and alert settings: effective, overridden and defaults",
          response: withErrors({ 200: settingsViewSchema }),
        },
      },
      async (request) => settings.get(actorOf(request)),
    );

    fastify.patch(
      '/api/sync/admin/settings',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          summary: "Change some of the tenant's settings (null puts one back to the default)",
          body: settingsPatchSchema,
          response: withErrors({ 200: settingsViewSchema }),
        },
        preHandler: fastify.syncRateLimits.admin,
      },
      async (request) => settings.update(actorOf(request), request.body),
    );
  },
  {
    name: 'syncline-settings-routes',
    dependencies: ['syncline-auth', 'syncline-rate-limits'],
    fastify: '5.x',
  },
);
