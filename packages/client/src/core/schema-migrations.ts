// Local schema versions: a collection declares its version and how to bring a document up to it
// (`migrations[n]` turns version n−1 into n). On open after an app update, the confirmed rows and
// the queued outbox changes of each collection whose stored version is behind are migrated in one
// atomic LocalStore write, with the new versions beside them: a crash mid-way leaves the old data
// and versions, never a mix. A migration that throws changes nothing and fails the open.
import type { JsonObject } from '@syncline/protocol';
import { isLocalStoreChangedError, type LocalStore, type StorageWrite } from './ports.js';
import { parseIndexes, type IndexDeclaration } from './index-declaration.js';

/** What a migration reads of a collection's options: its version, migrations and indexes. */
type MigratedCollection = SchemaOptions & { indexes?: IndexDeclaration };

const compoundsOf = (type: string, options: MigratedCollection) => {
  const { compounds } = parseIndexes(type, options.indexes);
  return compounds.length > 0 ? { compounds } : {};
};

/** Turns a document of the version before into this one. `patch`: an UPDATE's merge patch. */
export type Migration = (doc: JsonObject, context: { patch: boolean }) => JsonObject;

export interface SchemaOptions {
  /** The collection's local schema version (default 1). */
  version?: number;
  /** By target version: `{ 2: (doc) => …, 3: (doc) => … }`; one for each version above 1. */
  migrations?: Record<number, Migration>;
}

/** The meta key holding a collection's stored schema version (absent: version 1). */
export const schemaVersionKey = (type: string) => `sync.schema.${type}`;

export class SchemaMigrationError extends Error {
  override readonly name = 'SchemaMigrationError';
  constructor(
    readonly code: 'SCHEMA_MIGRATION_FAILED' | 'SCHEMA_TOO_NEW' | 'SCHEMA_MIGRATION_MISSING',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `visits=3,assets=1`: the collections that declare a version, for the server to be told. */
export function schemaVersionHeader(
  collections: Record<string, SchemaOptions> | undefined,
): string | undefined {
  const declared = Object.entries(collections ?? {})
    .filter(([, options]) => options.version !== undefined)
    .map(([type, options]) => `${type}=${options.version}`)
    .sort();
  return declared.length > 0 ? declared.join(',') : undefined;
}

function parseVersion(text: string | undefined): number {
  const value = Number(text ?? 1);
  return Number.isSafeInteger(value) && value >= 1 ? value : 1;
}

function migrate(
  type: string,
  from: number,
  to: number,
  migrations: Record<number, Migration>,
  body: string,
  what: string,
  patch: boolean,
): string {
  let doc = JSON.parse(body) as JsonObject;
  for (let version = from + 1; version <= to; version++) {
    const step = migrations[version];
    if (!step) {
      throw new SchemaMigrationError(
        'SCHEMA_MIGRATION_MISSING',
        `${type}: no migration to version ${version}`,
      );
    }
    try {
      doc = step(doc, { patch });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new SchemaMigrationError(
        'SCHEMA_MIGRATION_FAILED',
        `${type}: migration to version ${version} failed for ${what}: ${reason}; the local data is unchanged`,
        { cause: error },
      );
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      throw new SchemaMigrationError(
        'SCHEMA_MIGRATION_FAILED',
        `${type}: migration to version ${version} returned no object for ${what}; the local data is unchanged`,
      );
    }
  }
  return JSON.stringify(doc);
}

/**
 * Brings every collection's stored rows and queued changes up to its declared version. One
 * instance at a time (other tabs or processes wait, then find the work done). Resolves to the
 * collections it migrated.
 */
export async function migrateLocalSchemas(
  storage: LocalStore,
  collections: Record<string, MigratedCollection> | undefined,
): Promise<string[]> {
  const declared = Object.entries(collections ?? {}).filter(
    ([, options]) => options.version !== undefined,
  );
  if (declared.length === 0) return [];
  return storage.exclusive('schema-migration', async () => {
    for (let round = 1; ; round++) {
      try {
        return await migrateOnce(storage, declared);
      } catch (error) {
        // A tab of the old version wrote meanwhile: read again and migrate what it left.
        if (!isLocalStoreChangedError(error) || round >= 10) throw error;
      }
    }
  });
}

async function migrateOnce(
  storage: LocalStore,
  declared: Array<[string, MigratedCollection]>,
): Promise<string[]> {
  {
    const revision = await storage.revision();
    const writes: StorageWrite[] = [];
    const migrated: string[] = [];
    const outbox = await storage.listOutbox();
    for (const [type, options] of declared) {
      const to = options.version ?? 1;
      if (!Number.isSafeInteger(to) || to < 1) {
        throw new SchemaMigrationError('SCHEMA_MIGRATION_MISSING', `${type}: bad version ${to}`);
      }
      const from = parseVersion(await storage.getMeta(schemaVersionKey(type)));
      if (from > to) {
        throw new SchemaMigrationError(
          'SCHEMA_TOO_NEW',
          `${type}: the local data is at schema version ${from}, newer than this app's ${to}; update the app`,
        );
      }
      if (from === to) continue;
      const migrations = options.migrations ?? {};
      for (const row of await storage.listEntities(type)) {
        if (row.body === null) continue;
        const body = migrate(type, from, to, migrations, row.body, `${type} ${row.id}`, false);
        // The row keeps its stored indexed values, and its type's compound keys with them.
        writes.push({ kind: 'putEntity', row: { ...row, body }, ...compoundsOf(type, options) });
      }
      for (const row of outbox) {
        if (row.type !== type || row.body === null) continue;
        const what = `queued ${row.operation} of ${type} ${row.id}`;
        const patch = row.operation === 'UPDATE';
        const body = migrate(type, from, to, migrations, row.body, what, patch);
        writes.push({ kind: 'putOutbox', row: { ...row, body } });
      }
      writes.push({ kind: 'setMeta', key: schemaVersionKey(type), value: String(to) });
      migrated.push(type);
    }
    // Inside the exclusive section no other instance migrates; `ifRevision` keeps a concurrent
    // local write (a tab of the old version still open) from being overwritten with old data.
    if (writes.length > 0) await storage.write(writes, { ifRevision: revision });
    return migrated;
  }
}
