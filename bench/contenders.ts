// What the benchmark measures, behind one interface: Syncline over HTTP (a real server process),
// Syncline's store alone (in process: no HTTP, no engine) and the reference server. Every push
// checks that each change applied and every pull that it read the rows asked for, so a figure
// never counts work that was not done. Both servers are called through the same HTTP clients
// (pushes through bench/http-client.ts, pulls through fetch).
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  canonicalJson,
  type Change,
  type DeltaResponse,
  type PushResponse,
} from '@syncline/protocol';
import type { SyncStore } from '../packages/server/src/engine/ports.js';
import { postJson } from '../test/support/http.js';
import type { ServerProcess } from '../test/support/server-process.js';
import { postJsonHttp } from './http-client.js';
import { progress } from './progress.js';
import type { ReferenceProcess } from './reference-process.js';
import { batches, FACILITIES } from './workload.js';

export const PAGE_SIZE = 1000;
/** The user every contender writes as: the attendance preset shows a clerk their own records. */
export const CLERK = 'clerk';

export interface Contender {
  readonly name: 'Syncline' | 'store' | 'reference';
  /**
   * Pushes `changes` as `deviceId` in batches of `size`, signed in as `userId` where the server
   * has users (default CLERK); answers the seconds it took.
   */
  push(
    tenant: string,
    deviceId: string,
    changes: readonly Change[],
    size: number,
    userId?: string,
  ): Promise<number>;
  /**
   * Reads the first `count` changes of the tenant's feed in pages of 1,000; answers seconds.
   * `uncompressed` asks for answers as they are (`accept-encoding: identity`) where the server
   * would compress them; fetch otherwise asks for gzip, as a browser does.
   */
  pull(
    tenant: string,
    deviceId: string,
    count: number,
    options?: { uncompressed?: boolean },
  ): Promise<number>;
}

const seconds = (start: number) => (performance.now() - start) / 1000;

function checkApplied(results: ReadonlyArray<{ status: string }>, expected: number) {
  const refused = results.filter((r) => r.status !== 'APPLIED');
  if (refused.length > 0 || results.length !== expected) {
    throw new Error(`push not applied: ${JSON.stringify(refused[0] ?? results.length)}`);
  }
}

function checkCount(seen: number, count: number) {
  if (seen < count) throw new Error(`the feed ended after ${seen} changes, expected ${count}`);
}

/** Syncline's canonical routes on a `syncline serve` process. */
export function synclineContender(server: ServerProcess): Contender {
  const token = (tenant: string, userId = CLERK) =>
    server.token(userId, tenant, 'user', { facilities: FACILITIES });
  // Each device's sync token, carried from one push to the next as the SDK does.
  const syncTokens = new Map<string, string>();
  return {
    name: 'Syncline',
    async push(tenant, deviceId, changes, size, userId) {
      const bearer = token(tenant, userId);
      const device = `${tenant}\u0000${deviceId}`;
      const start = performance.now();
      for (const batch of batches(changes, size)) {
        // What the SDK sends: its sync token, and omitOwnChanges, so the answer carries only
        // what other devices wrote since the token, not the changes just sent.
        const syncToken = syncTokens.get(device);
        const body = {
          deviceId,
          changes: batch,
          omitOwnChanges: true,
          ...(syncToken ? { syncToken } : {}),
        };
        const answer = await postJsonHttp<PushResponse>(`${server.url}/api/sync`, bearer, body);
        checkApplied(answer.results, batch.length);
        syncTokens.set(device, answer.syncToken);
        progress.tick(batch.length);
      }
      return seconds(start);
    },
    async pull(tenant, deviceId, count, options = {}) {
      const bearer = token(tenant);
      const headers: Record<string, string> = options.uncompressed
        ? { 'accept-encoding': 'identity' }
        : {};
      const start = performance.now();
      let syncToken: string | undefined;
      let seen = 0;
      while (seen < count) {
        const page = await postJson<DeltaResponse>(
          `${server.url}/api/sync/delta`,
          bearer,
          {
            deviceId,
            pageSize: Math.min(PAGE_SIZE, count - seen),
            ...(syncToken ? { syncToken } : {}),
          },
          headers,
        );
        seen += page.changes.length;
        progress.tick(page.changes.length);
        syncToken = page.syncToken;
        if (!page.hasMore) break;
      }
      checkCount(seen, count);
      return seconds(start);
    },
  };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The same rows written and read straight through the SyncStore port, one transaction a batch. */
export function storeContender(store: SyncStore): Contender {
  return {
    name: 'store',
    async push(tenant, deviceId, changes, size) {
      const start = performance.now();
      await writeThroughStore(store, tenant, deviceId, changes, size);
      return seconds(start);
    },
    async pull(tenant, _deviceId, count) {
      const tenantStore = store.forTenant(tenant);
      const start = performance.now();
      let afterSeq = 0;
      let seen = 0;
      while (seen < count) {
        const rows = await tenantStore.readFeed({
          afterSeq,
          limit: Math.min(PAGE_SIZE, count - seen),
        });
        if (rows.length === 0) break;
        seen += rows.length;
        progress.tick(rows.length);
        afterSeq = (rows.at(-1) as { seq: number }).seq;
      }
      checkCount(seen, count);
      return seconds(start);
    },
  };
}

/** Writes CREATEs as the engine records them (history row, then the entity at its seq). */
export async function writeThroughStore(
  store: SyncStore,
  tenant: string,
  deviceId: string,
  changes: readonly Change[],
  size: number,
) {
  const tenantStore = store.forTenant(tenant);
  for (const batch of batches(changes, size)) {
    await tenantStore.transact(async (tx) => {
      const now = new Date().toISOString();
      for (const change of batch) {
        const payload = change.payload ?? null;
        const record = {
          entityType: change.entityType,
          entityId: change.entityId,
          version: 1,
          payload,
          checksum: sha256(canonicalJson(payload)),
          createdBy: CLERK,
          updatedBy: CLERK,
          deviceId,
          updatedAt: change.timestamp,
          deletedAt: null,
        };
        const seq = await tx.appendHistory({
          ...record,
          operation: 'CREATE',
          mutationId: change.mutationId ?? null,
          committedAt: now,
        });
        await tx.putEntity({ ...record, seq });
      }
    });
    progress.tick(batch.length);
  }
}

/** The minimal Fastify + better-sqlite3 server of bench/reference-server.ts. */
export function referenceContender(reference: ReferenceProcess): Contender {
  return {
    name: 'reference',
    async push(tenant, deviceId, changes, size) {
      const bearer = reference.token(tenant);
      const start = performance.now();
      for (const batch of batches(changes, size)) {
        const body = { deviceId, changes: batch };
        const answer = await postJsonHttp<PushResponse>(`${reference.url}/push`, bearer, body);
        checkApplied(answer.results, batch.length);
        progress.tick(batch.length);
      }
      return seconds(start);
    },
    async pull(tenant, _deviceId, count) {
      const bearer = reference.token(tenant);
      const start = performance.now();
      let after = 0;
      let seen = 0;
      while (seen < count) {
        const page = await postJson<{ changes: unknown[]; hasMore: boolean; after: number }>(
          `${reference.url}/pull`,
          bearer,
          { after, pageSize: Math.min(PAGE_SIZE, count - seen) },
        );
        seen += page.changes.length;
        progress.tick(page.changes.length);
        after = page.after;
        if (!page.hasMore) break;
      }
      checkCount(seen, count);
      return seconds(start);
    },
  };
}
