// Runs the schema migrations with Kysely's Migrator from an in-code list (no file-system
// scanning, so it works the same from tsx, a bundle or a test). Idempotent; safe to run from
// several processes at once (the Migrator takes a lock).
import {
  Migrator,
  type Kysely,
  type Migration,
  type MigrationProvider,
  type MigrationResultSet,
} from 'kysely';
import type { StoreDialect } from '../schema.js';
import { initialMigration } from './0001-initial.js';
import { attendanceHealthcareMigration } from './0002-attendance-healthcare.js';
import { offlineOperationsMigration } from './0003-offline-operations.js';
import { jobsMigration } from './0004-jobs.js';
import { offlineQueueIdsMigration } from './0005-offline-queue-ids.js';
import { deviceSchemaVersionsMigration } from './0006-device-schema-versions.js';
import { deviceMutationMarksMigration } from './0007-device-mutation-marks.js';
import { leanWriteSetMigration } from './0008-lean-write-set.js';
import { requestMutationsMigration } from './0009-request-mutations.js';

/** Migrations by name; names sort in the order they run. Never edit one that has shipped. */
export function storeMigrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    '0001_initial': initialMigration(dialect),
    '0002_attendance_healthcare': attendanceHealthcareMigration(),
    '0003_offline_operations': offlineOperationsMigration(dialect),
    '0004_jobs': jobsMigration(dialect),
    '0005_offline_queue_ids': offlineQueueIdsMigration(dialect),
    '0006_device_schema_versions': deviceSchemaVersionsMigration(dialect),
    '0007_device_mutation_marks': deviceMutationMarksMigration(dialect),
    '0008_lean_write_set': leanWriteSetMigration(dialect),
    '0009_request_mutations': requestMutationsMigration(dialect),
  };
}

class StaticMigrationProvider implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(this.migrations);
  }
}

export interface MigrateOptions {
  dialect: StoreDialect;
  /** PostgreSQL schema holding Kysely's own migration tables (defaults to the search_path). */
  migrationTableSchema?: string;
}

/** Brings the database to the latest schema; resolves to the names of the migrations it ran. */
export async function migrateToLatest(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see no typed schema
  db: Kysely<any>,
  options: MigrateOptions,
): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new StaticMigrationProvider(storeMigrations(options.dialect)),
    ...(options.migrationTableSchema !== undefined
      ? { migrationTableSchema: options.migrationTableSchema }
      : {}),
  });
  const { error, results } = await retryingCatalogRace(() => migrator.migrateToLatest());
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`migration ${failed ?? '(setup)'} failed: ${String(error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Runs a Migrator call again when its setup lost a catalog race. Kysely's setup reads every table
 * of the database from pg_catalog to find its own; a schema that another client drops at that
 * moment fails the read with 3F000 ("schema … does not exist"). Nothing ran yet then (no
 * results), so the setup is simply read again.
 */
export async function retryingCatalogRace(
  run: () => Promise<MigrationResultSet>,
): Promise<MigrationResultSet> {
  let outcome = await run();
  for (let retry = 0; retry < 3 && outcome.results === undefined; retry++) {
    if (!isCatalogRace(outcome.error)) break;
    outcome = await run();
  }
  return outcome;
}

function isCatalogRace(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === '3F000';
}
