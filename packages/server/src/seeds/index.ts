// The seeds: each folder turns one seed's HTTP API into canonical engine commands (seed 003's
// into replay operations) and the results back into the seed's shapes. app/compose.ts hands their
// routes to buildServer and their presets to the collection registry; no other folder imports them.
import type { CollectionRegistry } from '../engine/collections.js';
import type { SyncEngine } from '../engine/engine-api.js';
import type { ServerRoutes } from '../http/build-server.js';
import type { OfflineReplay } from '../replay/replayer.js';
import { attendanceRoutesPlugin } from './attendance/routes.js';
import { healthcareRoutesPlugin } from './healthcare/routes.js';
import { paymeCompatPlugin } from './payme/routes.js';

export { presetCollections } from './presets.js';

export interface SeedServices {
  engine: SyncEngine;
  /** Seed 000 reads which of its fields are times (its records' idempotency keys compare them). */
  collections: CollectionRegistry;
  /** Seed 003's offline operations and their replayer. */
  offlineReplay: OfflineReplay;
}

/** Seed 000's /api/attendance, seed 001's /api/v1/sync/* queue and seed 003's /api/offline. */
export function seedRoutes({ engine, collections, offlineReplay }: SeedServices): ServerRoutes[] {
  return [
    (app) => void app.register(attendanceRoutesPlugin, { engine, collections }),
    (app) => void app.register(healthcareRoutesPlugin, { engine }),
    (app) =>
      void app.register(paymeCompatPlugin, {
        offlineReplay,
        claimDevice: (actor, deviceId) => engine.claimDevice(actor, deviceId),
      }),
  ];
}
