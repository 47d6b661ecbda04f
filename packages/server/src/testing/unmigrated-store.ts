// Stores on an empty, unmigrated database for the migration suites (a temporary SQLite file, or a
// PostgreSQL schema of its own dropped afterwards), and a Migrator that walks them to a migration.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator, type Kysely } from 'kysely';
import { expect } from 'vitest';
import { retryingCatalogRace, storeMigrations } from '../store/migrations/index.js';
import {
  createPostgresSyncStore,
  createSqliteSyncStore,
  dropPostgresSchema,
  type KyselySyncStore,
} from '../store/index.js';

export interface UnmigratedStore {
  /** A store on an empty database, not migrated (`migrate: false`). */
  store: KyselySyncStore;
  migrationTableSchema?: string;
  dispose(): Promise<void>;
}

/** A SQLite store in a temporary directory named after `name`. */
export async function openUnmigratedSqlite(name: string): Promise<UnmigratedStore> {
  const dir = await mkdtemp(join(tmpdir(), `syncline-${name}-`));
  const store = await createSqliteSyncStore({ file: join(dir, 'syncline.db'), migrate: false });
  return {
    store,
    async dispose() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A PostgreSQL store in a schema of its own (`syncline_<name>_…`), dropped by dispose(). */
export async function openUnmigratedPostgres(url: string, name: string): Promise<UnmigratedStore> {
  const schema = `syncline_${name}_${randomBytes(5).toString('hex')}`;
  const store = await createPostgresSyncStore({ url, schema, max: 2, migrate: false });
  return {
    store,
    migrationTableSchema: schema,
    async dispose() {
      await store.close();
      await dropPostgresSchema(url, schema);
    },
  };
}

/** Runs the store's migrations up or down to `target` (a name, or the latest); expects success. */
export function migratorOf({ store, migrationTableSchema }: UnmigratedStore) {
  const migrator = new Migrator({
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see no typed schema
    db: store.db as unknown as Kysely<any>,
    provider: { getMigrations: async () => storeMigrations(store.dialect) },
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
  });
  return async (target: string | 'latest') => {
    const outcome = await retryingCatalogRace(() =>
      target === 'latest' ? migrator.migrateToLatest() : migrator.migrateTo(target),
    );
    expect(outcome.error).toBeUndefined();
  };
}
