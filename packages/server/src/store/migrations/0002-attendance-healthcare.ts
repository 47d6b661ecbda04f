// Indexes for the seed endpoints' queries on the mutations table (the server-side sync queue):
// - seed 000's "user sync history" (user_id, synced) and seed 001's stats per user: counts by
//   user and status;
// - seed 001's queue ids, which name a mutation without its device.
// Seed 000's duplicate lookup (device_id, client_timestamp) needs no index of its own: the record's
// entity id is derived from both, so the entities primary key finds it, and its "synced" lookups
// use mutations_status_idx from the initial schema.
import type { Kysely, Migration } from 'kysely';

export function attendanceHealthcareMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('mutations_user_status_idx')
        .on('mutations')
        .columns(['tenant', 'user_id', 'status'])
        .execute();
      await db.schema
        .createIndex('mutations_id_idx')
        .on('mutations')
        .columns(['tenant', 'mutation_id'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const name of ['mutations_id_idx', 'mutations_user_status_idx']) {
        await db.schema.dropIndex(name).ifExists().execute();
      }
    },
  };
}
