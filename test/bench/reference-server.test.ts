// The benchmark's reference server does the work it is compared for: upserts keyed by (tenant,
// type, id) with a version, a per-tenant feed in seq order, paged, behind a checked bearer token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, HttpError } from '../support/http.js';
import { referenceContender } from '../../bench/contenders.js';
import { startReference, type ReferenceProcess } from '../../bench/reference-process.js';
import { attendanceBatch } from '../../bench/workload.js';

interface Page {
  changes: Array<{ entityId: string; version: number; seq: number; payload: unknown }>;
  hasMore: boolean;
  after: number;
}

let reference: ReferenceProcess;
beforeAll(async () => {
  reference = await startReference();
});
afterAll(async () => {
  await reference?.stop();
});

const pull = (tenant: string, after: number, pageSize: number) =>
  postJson<Page>(`${reference.url}/pull`, reference.token(tenant), { after, pageSize });

describe('the reference server', () => {
  it('pages a tenant’s feed in seq order and bumps the version of an upserted document', async () => {
    const docs = attendanceBatch(5, 'device-a', 'feed');
    const push = (changes: unknown[]) =>
      postJson<{ results: Array<{ status: string; version: number }> }>(
        `${reference.url}/push`,
        reference.token('tenant-a'),
        { changes },
      );
    expect((await push(docs)).results.map((r) => r.version)).toEqual([1, 1, 1, 1, 1]);
    expect((await push([docs[0]])).results).toEqual([
      { mutationId: docs[0]!.mutationId, status: 'APPLIED', version: 2 },
    ]);

    const first = await pull('tenant-a', 0, 3);
    expect(first.hasMore).toBe(true);
    const rest = await pull('tenant-a', first.after, 3);
    expect(rest.hasMore).toBe(false);
    const feed = [...first.changes, ...rest.changes];
    // The re-pushed document moved to the feed's end with its new version and its payload intact.
    expect(feed.map((c) => c.entityId)).toEqual(
      [...docs.slice(1), docs[0]!].map((d) => d.entityId),
    );
    expect(feed.map((c) => c.seq)).toEqual([2, 3, 4, 5, 6]);
    expect(feed.at(-1)).toMatchObject({ version: 2, payload: docs[0]!.payload });
  });

  it('keeps tenants apart', async () => {
    await referenceContender(reference).push(
      'tenant-b',
      'device-b',
      attendanceBatch(2, 'device-b', 'b'),
      10,
    );
    expect((await pull('tenant-c', 0, 10)).changes).toEqual([]);
    expect((await pull('tenant-b', 0, 10)).changes).toHaveLength(2);
  });

  it('refuses a token it did not sign', async () => {
    const forged = reference.token('tenant-a').replace(/\.[^.]+$/, '.AAAA');
    const error = await postJson(`${reference.url}/pull`, forged, { after: 0 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(401);
  });

  it('lets the contender count only the rows the feed holds', async () => {
    const contender = referenceContender(reference);
    await contender.push('tenant-d', 'device-d', attendanceBatch(3, 'device-d', 'd'), 2);
    await expect(contender.pull('tenant-d', 'reader', 3)).resolves.toBeGreaterThan(0);
    await expect(contender.pull('tenant-d', 'reader', 4)).rejects.toThrow(/ended after 3 changes/);
  });
});
