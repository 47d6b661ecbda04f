// An engine on a real in-memory SQLite store for engine-level tests, with a count of the
// transactions it opens (to see how a request is split into them).
import { createHash, randomUUID } from 'node:crypto';
import type { Actor } from '../../packages/server/src/engine/actor.js';
import {
  createCollectionRegistry,
  type CollectionRegistry,
  type CollectionsConfig,
} from '../../packages/server/src/engine/collections.js';
import type { CommitEvent } from '../../packages/server/src/engine/commit-events.js';
import type { SyncEngine } from '../../packages/server/src/engine/engine-api.js';
import type { SyncStore } from '../../packages/server/src/engine/ports.js';
import { createSyncEngine } from '../../packages/server/src/engine/sync-engine.js';
import { createSchemaCompiler } from '../../packages/server/src/http/ajv-schema-compiler.js';
import { createSqliteSyncStore } from '../../packages/server/src/store/index.js';
import { presetCollections } from '../../packages/server/src/seeds/presets.js';

export const testCrypto = {
  sha256Hex: (text: string) => createHash('sha256').update(text).digest('hex'),
  newId: () => randomUUID(),
};

export const userOf = (
  userId: string,
  claims: Record<string, unknown> = {},
  role: Actor['role'] = 'user',
): Actor => ({ tenant: 't', userId, role, claims });

export interface EngineFixture {
  engine: SyncEngine;
  store: SyncStore;
  /** Transactions opened so far. */
  transactions(): number;
  close(): Promise<void>;
}

export async function engineFixture(config: CollectionsConfig = {}): Promise<EngineFixture> {
  const store = await createSqliteSyncStore({ file: ':memory:' });
  let transactions = 0;
  const counted: SyncStore = {
    dialect: store.dialect,
    ping: () => store.ping(),
    close: () => store.close(),
    forTenant(tenant) {
      const inner = store.forTenant(tenant);
      return Object.assign(Object.create(inner) as typeof inner, {
        transact: <T>(fn: Parameters<typeof inner.transact<T>>[0]) => {
          transactions++;
          return inner.transact(fn);
        },
      });
    },
  };
  const engine = createSyncEngine({
    store: counted,
    collections: createCollectionRegistry(config, presetCollections),
    compileSchema: createSchemaCompiler(),
    crypto: testCrypto,
  });
  return { engine, store, transactions: () => transactions, close: () => store.close() };
}

/**
 * An engine over `store` with one collection, `thing`, whose schema checker has a bug that only an
 * UPDATE's merged state reaches (a payload with `boom`, inside the transaction); what it logs as
 * errors goes to `logged`.
 */
export function faultyCheckerEngine(store: SyncStore, logged: object[]): SyncEngine {
  return createSyncEngine({
    store,
    collections: createCollectionRegistry({
      presets: false,
      collections: { thing: { schema: { type: 'object' } } },
    }),
    compileSchema: () => (payload) => {
      if ((payload as { boom?: boolean }).boom) throw new Error('checker bug');
      return [];
    },
    crypto: testCrypto,
    logger: { info: () => {}, warn: () => {}, error: (obj) => logged.push(obj) },
  });
}

export interface CommitEventsFixture {
  engine: SyncEngine;
  store: SyncStore;
  /** Every event the engine announced, in order. */
  events: CommitEvent[];
  close(): Promise<void>;
}

/** An engine on a real in-memory SQLite store that keeps the commit events it announces. */
export async function commitEventsFixture(
  collections: CollectionRegistry,
): Promise<CommitEventsFixture> {
  const store = await createSqliteSyncStore({ file: ':memory:' });
  const events: CommitEvent[] = [];
  const engine = createSyncEngine({
    store,
    collections,
    compileSchema: createSchemaCompiler(),
    crypto: testCrypto,
    onCommitted: (event) => events.push(event),
  });
  return { engine, store, events, close: () => store.close() };
}
