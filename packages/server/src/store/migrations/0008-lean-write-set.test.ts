// Migration 0008 on SQLite, on a database that already holds entities and mutations.
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { runLeanWriteSetMigrationSuite } from '../../testing/lean-write-set-migration-suite.js';
import { openUnmigratedSqlite } from '../../testing/unmigrated-store.js';
import { createSqliteSyncStore } from '../index.js';

runLeanWriteSetMigrationSuite('0008_lean_write_set on SQLite', () => openUnmigratedSqlite('0008'));

it('stores entities clustered on their primary key (WITHOUT ROWID)', async () => {
  const store = await createSqliteSyncStore({ file: ':memory:' });
  try {
    const { rows } = await sql<{ sql: string }>`
      select sql from sqlite_master where type = 'table' and name = 'entities'`.execute(store.db);
    expect(rows[0]?.sql).toMatch(/without rowid$/i);
  } finally {
    await store.close();
  }
});
