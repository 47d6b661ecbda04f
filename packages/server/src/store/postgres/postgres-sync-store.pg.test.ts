// The PostgreSQL adapter against the store conformance suite, in a schema of its own per run
// (dropped afterwards) so that concurrent runs on one server never see each other's rows.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { pgSkipReason, testPgUrl } from '../../testing/env.js';
import { runStoreConformance } from '../../testing/store-conformance.js';
import { createPostgresSyncStore, dropPostgresSchema } from './postgres-sync-store.js';

const schema = `syncline_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;

describe.skipIf(!testPgUrl)(
  testPgUrl ? 'PostgresSyncStore' : `PostgresSyncStore (skipped: ${pgSkipReason})`,
  () => {
    afterAll(() => dropPostgresSchema(testPgUrl ?? '', schema));

    // 12 connections: the 8 concurrent writers of the gap-free test, each holding one, plus the
    // reader, so that writers really queue on the tenant lock inside PostgreSQL (the in-process
    // queue is off here; with it on, they would queue before reaching the database).
    it('a busy tenant does not starve another of pooled connections', async () => {
      const store = await createPostgresSyncStore({ url: testPgUrl ?? '', max: 2, schema });
      try {
        const finished: string[] = [];
        const slow = (i: number) =>
          store.forTenant('busy').transact(async (tx) => {
            await tx.getTenantState();
            await new Promise((resolve) => setTimeout(resolve, 30));
            finished.push(`busy-${i}`);
          });
        const busy = Array.from({ length: 5 }, (_, i) => slow(i));
        await new Promise((resolve) => setTimeout(resolve, 5));
        await store.forTenant('quiet').transact(async (tx) => {
          await tx.getTenantState();
          finished.push('quiet');
        });
        await Promise.all(busy);
        // Without the per-tenant queue both connections wait on 'busy' and 'quiet' comes last.
        expect(finished.indexOf('quiet')).toBeLessThan(2);
      } finally {
        await store.close();
      }
    });

    runStoreConformance('postgres', () =>
      createPostgresSyncStore({ url: testPgUrl ?? '', max: 12, schema, queueTenantWrites: false }),
    );
  },
);
