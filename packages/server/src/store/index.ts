// Opens the configured store: PostgreSQL when a postgres:// URL is given, else the embedded
// SQLite file in the data directory. Also the CLI's `migrate` command.
import { join } from 'node:path';
import type { KyselySyncStore } from './kysely-sync-store.js';
import { createPostgresSyncStore } from './postgres/postgres-sync-store.js';
import { createSqliteSyncStore } from './sqlite/sqlite-sync-store.js';

export { KyselySyncStore } from './kysely-sync-store.js';
export {
  createPostgresSyncStore,
  dropPostgresSchema,
  type PostgresSyncStoreOptions,
} from './postgres/postgres-sync-store.js';
export { createSqliteSyncStore, type SqliteSyncStoreOptions } from './sqlite/sqlite-sync-store.js';

export interface OpenStoreOptions {
  /** SYNCLINE_DB_URL: a postgres:// or postgresql:// URL selects PostgreSQL. */
  url?: string | undefined;
  /** SYNCLINE_DATA_DIR: where the SQLite file `syncline.db` lives (created if missing). */
  dataDir: string;
  /** PostgreSQL pool size. */
  max?: number;
  /** Run migrations before returning (default true). */
  migrate?: boolean;
}

export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

export function sqliteFileIn(dataDir: string): string {
  return join(dataDir, 'syncline.db');
}

/**
 * `?schema=name` on a PostgreSQL URL selects the schema the tables live in (created by the
 * migrations): several deployments, or test runs, share one database. Other parameters pass to pg.
 */
export function postgresUrlSchema(url: string): { url: string; schema?: string } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  if (schema === null) return { url };
  parsed.searchParams.delete('schema');
  return { url: parsed.toString(), schema };
}

export function openStore(options: OpenStoreOptions): Promise<KyselySyncStore> {
  const migrate = options.migrate ?? true;
  if (isPostgresUrl(options.url)) {
    return createPostgresSyncStore({
      ...postgresUrlSchema(options.url),
      migrate,
      ...(options.max !== undefined ? { max: options.max } : {}),
    });
  }
  if (options.url !== undefined && options.url !== '') {
    throw new TypeError(
      `unsupported database URL (want postgres:// or postgresql://): ${options.url}`,
    );
  }
  return createSqliteSyncStore({ file: sqliteFileIn(options.dataDir), migrate });
}

/** Migrates the configured database and closes it; resolves to the migrations that ran. */
export async function migrate(options: Omit<OpenStoreOptions, 'migrate'>): Promise<string[]> {
  const store = await openStore({ ...options, migrate: false });
  try {
    return await store.migrate();
  } finally {
    await store.close();
  }
}
