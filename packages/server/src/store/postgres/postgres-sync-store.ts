// The production PostgreSQL adapter: a pg Pool under Kysely's Postgres dialect, with the shared
// query layer. Writers of one tenant queue on the tenant's row lock; tenants run in parallel.
import pg from 'pg';
import { limitsDefaults } from '@syncline/protocol';
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import { createKeyedQueue } from '../../engine/keyed-queue.js';
import { KyselySyncStore, migratedOrClosed, type DialectTraits } from '../kysely-sync-store.js';
import type { Database } from '../schema.js';
import { createPostgresHotPath, postgresHotStatementNames } from './postgres-hot-path.js';

export interface PostgresSyncStoreOptions {
  /** postgres:// or postgresql:// connection URL. */
  url: string;
  /** Pool size (default 10). Each open transaction holds one connection until commit. */
  max?: number;
  /**
   * Schema to use instead of the server's search_path default (created by the migrations).
   * Lower-case identifier only. Tests use a fresh one per run.
   */
  schema?: string;
  /** Run migrations before returning (default true). */
  migrate?: boolean;
  /** Errors of idle pooled connections (the pool drops them); ignored unless given. */
  onPoolError?: (err: Error) => void;
  /**
   * Queue a tenant's transactions in this process (default true), so a busy tenant holds at most
   * one pooled connection here. The conformance suite turns it off to prove the database lock alone.
   */
  queueTenantWrites?: boolean;
}

export const postgresTraits: DialectTraits = {
  dialect: 'postgres',
  // READ COMMITTED is required, not merely enough: each statement takes a fresh snapshot, so
  // once the tenant row lock is granted the transaction sees every commit that preceded it.
  // Under REPEATABLE READ the snapshot could predate the lock holder's commit.
  begin: 'begin isolation level read committed',
  // A pull's reads (tenant state, feed, earlier versions) all see one snapshot, and no lock.
  beginRead: 'begin isolation level repeatable read read only',
  lockTenantRow: true,
  hotPath: createPostgresHotPath,
  // A whole batch per flush: a chunk costs five round trips, and the writes do not hold the loop.
  pushChunkSize: limitsDefaults.maxChangesPerBatch,
};

const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

// int8 (seq, counts) arrives as a string by default; seqs fit a double for ~285,000 years at
// a million changes a second, and anything larger fails loudly rather than losing precision.
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${text} exceeds 2^53`);
  return n;
}

const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * A `SyncStore` on PostgreSQL. Isolation: READ COMMITTED plus a per-tenant write lock. Every
 * `transact()` first upserts and locks its tenant's `tenants` row (SELECT … FOR UPDATE) and
 * holds it to commit; appendHistory increments that row's counter. So a tenant's writers are
 * serialized, and a seq becomes visible only after every smaller seq of the tenant has
 * committed: readers page the feed gap-free. Different tenants never wait on each other.
 * Reads outside `transact()` run on any pooled connection and see committed data only.
 */
export async function createPostgresSyncStore(
  options: PostgresSyncStoreOptions,
): Promise<KyselySyncStore> {
  if (options.schema !== undefined && !schemaPattern.test(options.schema)) {
    throw new TypeError(`schema must match ${String(schemaPattern)}: ${options.schema}`);
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    types: typeParsers,
    ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // Without a listener an idle connection's error (server restart) would crash the process.
  pool.on('error', (err) => options.onPoolError?.(err));
  const store = new KyselySyncStore(
    new Kysely<Database>({ dialect: new PostgresDialect({ pool: withNamedStatements(pool) }) }),
    postgresTraits,
    options.schema,
    options.queueTenantWrites === false ? {} : { queue: createKeyedQueue() },
  );
  return migratedOrClosed(store, options.migrate);
}

/**
 * The pool as Kysely sees it, but running the hot path's statement texts as named statements:
 * pg parses and plans a named statement once per connection and reuses the plan after that,
 * where an unnamed one is parsed and planned on every call. Other texts pass through unchanged
 * (a named statement per ad-hoc text would grow every connection without bound).
 */
function withNamedStatements(pool: pg.Pool): PostgresPool {
  return {
    async connect() {
      const client = await pool.connect();
      return {
        query: ((text: unknown, values?: readonly unknown[]) => {
          const name = typeof text === 'string' ? postgresHotStatementNames.get(text) : undefined;
          const params = values === undefined ? undefined : [...values];
          return name === undefined
            ? client.query(text as string, params)
            : client.query({ name, text: text as string, values: params ?? [] });
        }) as unknown as PostgresPoolClient['query'],
        release: () => client.release(),
      };
    },
    end: () => pool.end(),
  };
}

/** Drops a schema made with the `schema` option (tests and benchmarks clean up with it). */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  if (!schemaPattern.test(schema)) throw new TypeError(`not a schema name: ${schema}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}
