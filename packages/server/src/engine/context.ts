// What the engine's commands share: the store, settings and the helpers every write path uses.
// createSyncEngine builds it once; commands kept in their own modules take it instead of copying
// the push machinery.
import type { ConflictStrategy } from '@syncline/protocol';
import type { Actor } from './actor.js';
import type { ApplyContext } from './apply-push.js';
import type { CommitEvents, CommitTransaction } from './commit-events.js';
import type { Collection, CollectionRegistry } from './collections.js';
import type { EngineLimits } from './engine-api.js';
import type { Clock, Crypto, JsonObject, SyncStore, TenantTx } from './ports.js';
import type { SyncNotes } from './sync-notes.js';
import type { ValidationContext } from './validate-change.js';

export interface EngineContext {
  store: SyncStore;
  /**
   * A tenant transaction for writes that commit events (entity versions, an epoch bump, a device
   * revocation): they gather them on its `events`, told to the listener after COMMIT.
   */
  transact: CommitTransaction;
  collections: CollectionRegistry;
  crypto: Crypto;
  clock: Clock;
  limits: EngineLimits;
  defaultStrategy: ConflictStrategy;
  checkSchema(collection: Collection, payload: JsonObject): string[];
  /** Pulls' device times, sync tokens and history rows, written later. */
  syncNotes: SyncNotes;
  applyContext(
    tx: TenantTx,
    events: CommitEvents,
    actor: Actor,
    deviceId: string,
    now: Date,
  ): ApplyContext;
  validationContext(deviceId: string, now: Date): ValidationContext;
  /** Tells the operator of an unexpected failure (an outage or a bug) the engine survived. */
  logError(obj: object, msg: string): void;
}
