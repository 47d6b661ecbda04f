// The big-tenant seed leaves a tenant as the store would have: N entities with distinct ids, a feed
// of N changes in seq order, and a counter past them so that the next write follows on.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openStore } from '../../packages/server/src/store/index.js';
import { writeThroughStore } from '../../bench/contenders.js';
import { seedTenant } from '../../bench/seed-tenant.js';
import { attendanceBatch } from '../../bench/workload.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'syncline-seed-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

it('seeds N entities and a feed of N changes the store reads and writes on from', async () => {
  await seedTenant(dataDir, 'big', 1200);
  const store = await openStore({ dataDir });
  try {
    const tenant = store.forTenant('big');
    const feed = await tenant.readFeed({ afterSeq: 0, limit: 5000 });
    expect(feed.map((row) => row.seq)).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
    expect(new Set(feed.map((row) => row.entityId)).size).toBe(1200);
    expect(new Set(feed.map((row) => row.mutationId)).size).toBe(1200);
    expect(await tenant.getEntity('attendance', feed[700]!.entityId)).toMatchObject({
      seq: 701,
      version: 1,
    });

    await writeThroughStore(store, 'big', 'next', attendanceBatch(1, 'next', 'next'), 1);
    expect((await tenant.readFeed({ afterSeq: 1200, limit: 10 })).map((row) => row.seq)).toEqual([
      1201,
    ]);
    expect(await store.forTenant('other').readFeed({ afterSeq: 0, limit: 10 })).toEqual([]);
  } finally {
    await store.close();
  }
});
