// The conformance suite every SyncStore adapter runs (like Replicache's runAll): each adapter's
// test file is one call. It covers every port method, the tenant wall, JSON round trips,
// rollback, and the change feed's gap-free ordering under concurrent writers.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  AuditRecord,
  ConflictRecord,
  DeviceRecord,
  EntityRecord,
  FeedCondition,
  FeedVisibility,
  JsonObject,
  MutationRecord,
  NewHistoryRecord,
  SyncHistoryRecord,
  SyncStore,
  TenantStore,
  TenantTx,
} from '../engine/ports.js';
import { prng } from './prng.js';

const T0 = Date.UTC(2024, 0, 1);
/** A canonical ISO time `n` seconds after the suite's epoch. */
const iso = (n: number): string => new Date(T0 + n * 1000).toISOString();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Payload with the values that commonly break JSON storage. Key order is deliberate. */
const trickyPayload: JsonObject = {
  zeta: 1,
  alpha: 'second key, but alphabetically first',
  nested: { b: [1, 2.5, -3e-7, 9007199254740991], a: { deep: [[], {}, [null, true, false]] } },
  unicode: 'é ü 漢字 🚑 \u0000 nul, "quotes", \\backslash\\, \n newline, \t tab',
  emptyString: '',
  nullValue: null,
  zero: 0,
  negative: -42,
  bool: false,
  long: 'x'.repeat(10_000),
};

/** Every row visible: no condition on any type. */
const everyone: FeedVisibility = { types: new Map(), otherTypes: [] };

/** FeedEntry.visible as FeedVisibility defines it, for the conformance cases to compare with. */
function verdictOf(
  conditions: readonly FeedCondition[] | null,
  createdBy: string,
  payload: JsonObject | null,
): boolean | null {
  if (conditions === null) return false;
  const fields = conditions.filter((c) => 'field' in c);
  if (conditions.some((c) => 'owner' in c && c.owner !== createdBy)) return false;
  if (fields.length === 0) return true;
  if (payload === null) return null;
  const holds = fields.every(
    (c) => Object.hasOwn(payload, c.field) && c.anyOf.includes(JSON.stringify(payload[c.field])),
  );
  return holds ? true : null;
}

const conditionsFor = (visibility: FeedVisibility, entityType: string) =>
  visibility.types.has(entityType)
    ? (visibility.types.get(entityType) ?? null)
    : visibility.otherTypes;

/**
 * Checks a store's verdict on a row against verdictOf, and answers the case's description. A
 * store may leave undecided a row whose payload it cannot read (PostgreSQL: `\u0000` in JSON).
 */
function expectVerdict(
  actual: boolean | null,
  visibility: FeedVisibility,
  row: { entityType: string; createdBy: string; payload: JsonObject | null },
  label: string,
): string {
  const conditions = conditionsFor(visibility, row.entityType);
  const expected = verdictOf(conditions, row.createdBy, row.payload);
  const where = `${label}: ${row.entityType} by ${row.createdBy} under ${JSON.stringify(conditions)}: ${JSON.stringify(row.payload)}`;
  const unreadable = JSON.stringify(row.payload).includes('\\u0000');
  if (!(actual === null && expected !== false && unreadable)) expect(actual, where).toBe(expected);
  return where;
}

/**
 * Random payloads and reader conditions from a seed: field values a payload may hold, claims may
 * list, or neither, under odd keys, and payloads holding `\u0000`.
 */
function visibilityCases(seed: number) {
  const values: unknown[] = ['f1', 'f2', 'é "q" \\', '', 0, 1, 1.5, -2e-7, 1e21, true, false];
  values.push(null, { a: 1 }, [1, 'f1'], 'nul \u0000 inside');
  const fieldNames = ['facilityId', 'a"b', 'dot.ted', ''];
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const primitives = values.filter((v) => v === null || typeof v !== 'object');
  const someOf = () => primitives.filter(() => random() < 0.3).map((v) => JSON.stringify(v));
  const conditions = (): FeedCondition[] | null => {
    if (random() < 0.1) return null;
    const parts: FeedCondition[] = [];
    if (random() < 0.5) parts.push({ owner: pick(['u1', 'u2']) });
    const fieldCount = Math.floor(random() * 3);
    for (let f = 0; f < fieldCount; f++) parts.push({ field: pick(fieldNames), anyOf: someOf() });
    return parts;
  };
  return {
    random,
    pick,
    payload(): JsonObject {
      const payload: JsonObject = {};
      for (const field of fieldNames) if (random() < 0.7) payload[field] = pick(values);
      if (random() < 0.2) payload.other = 'nul \u0000 elsewhere';
      return payload;
    },
    visibility(): FeedVisibility {
      const types = new Map([
        ['task', conditions()],
        ['note', conditions()],
      ]);
      return { types, otherTypes: conditions() };
    },
  };
}

function historyRecord(over: Partial<NewHistoryRecord> = {}): NewHistoryRecord {
  return {
    entityType: 'task',
    entityId: 'e1',
    version: 1,
    operation: 'CREATE',
    payload: { title: 'one' },
    checksum: 'c1',
    createdBy: 'u1',
    updatedBy: 'u1',
    deviceId: 'd1',
    mutationId: 'm1',
    updatedAt: iso(1),
    deletedAt: null,
    committedAt: iso(1),
    ...over,
  };
}

function entityRecord(over: Partial<EntityRecord> = {}): EntityRecord {
  return {
    entityType: 'task',
    entityId: 'e1',
    version: 1,
    payload: { title: 'one' },
    checksum: 'c1',
    createdBy: 'u1',
    updatedBy: 'u1',
    deviceId: 'd1',
    updatedAt: iso(1),
    deletedAt: null,
    seq: 1,
    ...over,
  };
}

function mutationRecord(over: Partial<MutationRecord> = {}): MutationRecord {
  return {
    deviceId: 'd1',
    mutationId: 'm1',
    userId: 'u1',
    entityType: 'task',
    entityId: 'e1',
    operation: 'CREATE',
    payload: { title: 'one' },
    clientVersion: 1,
    clientTimestamp: iso(0),
    status: 'PENDING',
    attempts: 0,
    result: null,
    error: null,
    conflictId: null,
    conflictStrategy: null,
    createdAt: iso(1),
    updatedAt: iso(1),
    ...over,
  };
}

function conflictRecord(over: Partial<ConflictRecord> = {}): ConflictRecord {
  return {
    id: 'c-1',
    type: 'VERSION_MISMATCH',
    entityType: 'task',
    entityId: 'e1',
    mutationId: 'm1',
    deviceId: 'd1',
    userId: 'u1',
    clientVersion: 1,
    serverVersion: 2,
    clientData: { title: 'client' },
    serverData: { title: 'server' },
    baseData: { title: 'base' },
    suggestedResolution: 'SERVER_WINS',
    resolution: null,
    status: 'PENDING_REVIEW',
    overlappingFields: ['title'],
    resolvedBy: null,
    resolvedAt: null,
    createdAt: iso(1),
    ...over,
  };
}

function deviceRecord(over: Partial<DeviceRecord> = {}): DeviceRecord {
  return {
    deviceId: 'd1',
    userId: 'u1',
    deviceName: 'Tablet',
    platform: 'android',
    appVersion: '1.0.0',
    schemaVersions: null,
    lastSyncAt: null,
    syncToken: null,
    isActive: true,
    createdAt: iso(1),
    ...over,
  };
}

function syncHistoryRecord(over: Partial<SyncHistoryRecord> = {}): SyncHistoryRecord {
  return {
    userId: 'u1',
    deviceId: 'd1',
    route: '/api/sync',
    pushed: 3,
    applied: 2,
    duplicates: 0,
    conflicts: 1,
    rejected: 0,
    pulled: 7,
    durationMs: 12,
    outcome: 'partial',
    networkType: 'wifi',
    createdAt: iso(1),
    ...over,
  };
}

function auditRecord(over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    actor: 'admin1',
    action: 'conflict.resolve',
    target: 'c-1',
    details: { strategy: 'CLIENT_WINS' },
    createdAt: iso(1),
    ...over,
  };
}

/** Writes one row of every kind into a tenant, in one transaction. */
async function populate(ts: TenantStore): Promise<void> {
  await ts.transact(async (tx) => {
    const seq = await tx.appendHistory(historyRecord());
    await tx.putEntity(entityRecord({ seq }));
    await tx.insertMutation(mutationRecord({ status: 'SYNCED' }));
    await tx.insertConflict(conflictRecord());
    await tx.upsertDevice(deviceRecord());
    await tx.insertSyncHistory(syncHistoryRecord());
    await tx.insertAudit(auditRecord());
    await tx.bumpEpoch();
  });
}

const zeroCounts = { PENDING: 0, SYNCING: 0, SYNCED: 0, CONFLICT: 0, FAILED: 0 };

export function runStoreConformance(name: string, newStore: () => Promise<SyncStore>): void {
  describe(`SyncStore conformance: ${name}`, () => {
    let store: SyncStore;
    // Fresh tenant names per test, so the suite also holds on a shared, non-empty database.
    const tenantName = (label: string) => `${label}-${randomUUID()}`;
    let ts: TenantStore;

    beforeEach(async () => {
      store = await newStore();
      ts = store.forTenant(tenantName('t'));
    });
    afterEach(async () => {
      await store.close();
    });

    describe('basics', () => {
      it('answers ping and names its dialect', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
        expect(['sqlite', 'postgres']).toContain(store.dialect);
      });

      it('refuses an empty tenant id', () => {
        expect(() => store.forTenant('')).toThrow();
      });

      it('reports an unknown tenant as empty', async () => {
        expect(await ts.getTenantState()).toEqual({ seq: 0, epoch: 0 });
        expect(await ts.readFeed({ afterSeq: 0, limit: 10 })).toEqual([]);
        expect(await ts.seqBefore(iso(100))).toBe(0);
        expect(await ts.countMutations({})).toEqual(zeroCounts);
      });

      it('returns the value of the transaction function', async () => {
        await expect(ts.transact(() => Promise.resolve({ ok: 42 }))).resolves.toEqual({ ok: 42 });
      });
    });

    describe('change feed and history', () => {
      it('allocates consecutive seqs from 1 and reports them in the tenant state', async () => {
        const seqs = await ts.transact(async (tx) => [
          await tx.appendHistory(historyRecord({ version: 1 })),
          await tx.appendHistory(historyRecord({ version: 2, operation: 'UPDATE' })),
        ]);
        expect(seqs).toEqual([1, 2]);
        const third = await ts.transact((tx) =>
          tx.appendHistory(historyRecord({ version: 3, operation: 'DELETE', payload: null })),
        );
        expect(third).toBe(3);
        expect(await ts.getTenantState()).toEqual({ seq: 3, epoch: 0 });
      });

      it('reads the feed after a cursor and before a bound, in seq order, by type, with a limit', async () => {
        const written = await ts.transact(async (tx) => {
          const records = [
            historyRecord({ entityType: 'task', entityId: 'a' }),
            historyRecord({ entityType: 'note', entityId: 'b' }),
            historyRecord({ entityType: 'task', entityId: 'a', version: 2, operation: 'UPDATE' }),
            historyRecord({ entityType: 'asset', entityId: 'c' }),
            historyRecord({ entityType: 'task', entityId: 'd', mutationId: null, deviceId: null }),
          ];
          const out = [];
          for (const r of records) out.push({ ...r, seq: await tx.appendHistory(r) });
          return out;
        });
        expect(await ts.readFeed({ afterSeq: 0, limit: 100 })).toEqual(written);
        expect(await ts.readFeed({ afterSeq: 2, limit: 2 })).toEqual(written.slice(2, 4));
        expect(await ts.readFeed({ afterSeq: 5, limit: 10 })).toEqual([]);
        expect(
          (await ts.readFeed({ afterSeq: 0, limit: 10, entityTypes: ['task'] })).map((r) => r.seq),
        ).toEqual([1, 3, 5]);
        expect(
          (await ts.readFeed({ afterSeq: 1, limit: 10, entityTypes: ['task', 'asset'] })).map(
            (r) => r.seq,
          ),
        ).toEqual([3, 4, 5]);
        expect(
          (await ts.readFeed({ afterSeq: 0, limit: 1, entityTypes: ['asset'] })).map((r) => r.seq),
        ).toEqual([4]);
        expect(
          (await ts.readFeed({ afterSeq: 1, beforeSeq: 4, limit: 10 })).map((r) => r.seq),
        ).toEqual([2, 3]);
        expect(
          (await ts.readFeed({ afterSeq: 0, beforeSeq: 5, limit: 10, entityTypes: ['task'] })).map(
            (r) => r.seq,
          ),
        ).toEqual([1, 3]);
        expect(await ts.readFeed({ afterSeq: 0, limit: 10, entityTypes: [] })).toEqual([]);
        expect(await ts.readFeed({ afterSeq: 0, limit: 10, entityTypes: ['nope'] })).toEqual([]);
        expect(await ts.readFeed({ afterSeq: 0, limit: 0 })).toEqual([]);
      });

      it('reads the same feed rows with each payload as the JSON text it stored', async () => {
        // Text columns with what JSON must escape: the store writes each change's JSON itself.
        const awkward = 'é 漢字 🚑 \u001f "quotes", \\back\\, \n \t \u2028';
        await ts.transact(async (tx) => {
          await tx.appendHistory(historyRecord({ entityId: 'a', payload: trickyPayload }));
          await tx.appendHistory(historyRecord({ entityType: 'note', entityId: 'b' }));
          await tx.appendHistory(
            historyRecord({ entityId: 'a', version: 2, operation: 'DELETE', payload: null }),
          );
          await tx.appendHistory(
            historyRecord({
              entityId: awkward,
              updatedBy: awkward,
              deviceId: null,
              checksum: null,
              mutationId: null,
              deletedAt: iso(2),
            }),
          );
        });
        // Each row as a pull reads it, and its change JSON as the ServerChange the feed holds.
        const asText = (query: Parameters<TenantStore['readFeed']>[0]) =>
          ts.readFeed(query).then((rows) =>
            rows.map((r) => ({
              entry: {
                seq: r.seq,
                visible: true,
                detail: {
                  entityType: r.entityType,
                  entityId: r.entityId,
                  version: r.version,
                  createdBy: r.createdBy,
                  deviceId: r.deviceId,
                  updatedAt: r.updatedAt,
                  deletedAt: r.deletedAt,
                  payloadJson: r.payload === null ? null : JSON.stringify(r.payload),
                },
              },
              change: {
                entityType: r.entityType,
                entityId: r.entityId,
                operation: r.operation,
                payload: r.payload,
                version: r.version,
                clientVersion: r.version,
                timestamp: r.updatedAt,
                updatedBy: r.updatedBy,
                deviceId: r.deviceId,
                checksum: r.checksum,
                deletedAt: r.deletedAt,
                seq: r.seq,
              },
            })),
          );
        const split = (rows: Awaited<ReturnType<TenantStore['readFeedEntries']>>) =>
          rows.map(({ changeJson, ...entry }) => ({
            entry,
            // Key order too: the change goes out as this text.
            change: JSON.parse(changeJson ?? 'null') as unknown,
            keys: Object.keys(JSON.parse(changeJson ?? 'null') as object),
          }));
        const keys = [
          'entityType',
          'entityId',
          'operation',
          'payload',
          'version',
          'clientVersion',
          'timestamp',
          'updatedBy',
          'deviceId',
          'checksum',
          'deletedAt',
          'seq',
        ];
        for (const query of [
          { afterSeq: 0, limit: 100 },
          { afterSeq: 1, limit: 1 },
          { afterSeq: 0, limit: 10, entityTypes: ['task'] },
          { afterSeq: 0, limit: 10, entityTypes: [] },
          { afterSeq: 0, beforeSeq: 3, limit: 10 },
        ]) {
          const expected = (await asText(query)).map((row) => ({ ...row, keys }));
          const entries = { ...query, visibility: everyone, allDetails: true };
          expect(split(await ts.readFeedEntries(entries))).toEqual(expected);
          // The same inside a read transaction, where SQLite reads rows as arrays.
          expect(split(await ts.read((reads) => reads.readFeedEntries(entries)))).toEqual(expected);
        }
        const [first] = await ts.readFeedEntries({ afterSeq: 0, limit: 1, visibility: everyone });
        expect(first?.detail).toBeUndefined();
        expect(JSON.parse(first?.changeJson ?? 'null')).toMatchObject({ payload: trickyPayload });
      });

      it("judges each feed row by the reader's conditions as the engine would", async () => {
        const cases = visibilityCases(7);
        await ts.transact(async (tx) => {
          for (let i = 0; i < 120; i++) {
            const payload = cases.random() < 0.15 ? null : cases.payload();
            await tx.appendHistory(
              historyRecord({
                entityType: cases.pick(['task', 'note', 'visit']),
                entityId: `e${i}`,
                createdBy: cases.pick(['u1', 'u2']),
                operation: payload ? 'CREATE' : 'DELETE',
                payload,
              }),
            );
          }
        });
        const all = await ts.readFeed({ afterSeq: 0, limit: 1000 });
        for (let round = 0; round < 25; round++) {
          const visibility = cases.visibility();
          const entries = await ts.readFeedEntries({ afterSeq: 0, limit: 1000, visibility });
          expect(entries.map((e) => e.seq)).toEqual(all.map((r) => r.seq));
          for (const [i, entry] of entries.entries()) {
            const row = all[i];
            if (!row) throw new Error('row missing');
            const where = expectVerdict(entry.visible, visibility, row, `round ${round}`);
            expect(entry.changeJson === null, where).toBe(entry.visible === false);
            expect(entry.detail === undefined, where).toBe(entry.visible !== null);
            if (entry.visible !== false) {
              expect(JSON.parse(entry.changeJson ?? 'null'), where).toMatchObject({
                entityId: row.entityId,
                payload: row.payload,
              });
            }
          }
        }
      });

      it('reads off the write lock and never sees a write before it commits', async () => {
        let release = () => {};
        const gate = new Promise<void>((resolve) => (release = resolve));
        let appended = () => {};
        const inFlight = new Promise<void>((resolve) => (appended = resolve));
        const writer = ts.transact(async (tx) => {
          await tx.appendHistory(historyRecord());
          appended();
          await gate;
        });
        await inFlight;
        const reader = ts.read(async (reads) => ({
          state: await reads.getTenantState(),
          rows: await reads.readFeedEntries({ afterSeq: 0, limit: 10, visibility: everyone }),
        }));
        if (store.dialect === 'postgres') {
          // Answered while the writer still holds the tenant's lock, without its row.
          expect(await reader).toEqual({ state: { seq: 0, epoch: 0 }, rows: [] });
          release();
          await writer;
        } else {
          // SQLite's one connection is the writer's until it commits: the read waits for it.
          release();
          await writer;
          const seen = await reader;
          expect(seen.state.seq).toBe(1);
          expect(seen.rows.map((r) => r.seq)).toEqual([1]);
        }
      });

      it('finds one version and lists all versions newest first', async () => {
        const seqs = await ts.transact(async (tx) => [
          await tx.appendHistory(historyRecord({ version: 1 })),
          await tx.appendHistory(historyRecord({ entityId: 'other' })),
          await tx.appendHistory(
            historyRecord({ version: 2, operation: 'UPDATE', payload: { title: 'two' } }),
          ),
          await tx.appendHistory(
            historyRecord({ version: 3, operation: 'DELETE', payload: null, deletedAt: iso(3) }),
          ),
        ]);
        expect(await ts.getHistoryVersion('task', 'e1', 2)).toEqual({
          ...historyRecord({ version: 2, operation: 'UPDATE', payload: { title: 'two' } }),
          seq: seqs[2],
        });
        expect(await ts.getHistoryVersion('task', 'e1', 9)).toBeUndefined();
        expect(await ts.getHistoryVersion('note', 'e1', 1)).toBeUndefined();
        const versions = await ts.listHistory('task', 'e1');
        expect(versions.map((v) => [v.version, v.seq])).toEqual([
          [3, seqs[3]],
          [2, seqs[2]],
          [1, seqs[0]],
        ]);
        expect(versions[0]).toMatchObject({
          payload: null,
          deletedAt: iso(3),
          operation: 'DELETE',
        });
        expect(await ts.listHistory('task', 'missing')).toEqual([]);
      });

      it('refuses a second copy of one entity version, rolling back its seq', async () => {
        await ts.transact((tx) => tx.appendHistory(historyRecord()));
        await expect(ts.transact((tx) => tx.appendHistory(historyRecord()))).rejects.toThrow();
        expect(await ts.getTenantState()).toEqual({ seq: 1, epoch: 0 });
        expect(await ts.transact((tx) => tx.appendHistory(historyRecord({ version: 2 })))).toBe(2);
      });

      it('turns a time into a cursor with seqBefore', async () => {
        await ts.transact(async (tx) => {
          await tx.appendHistory(historyRecord({ version: 1, committedAt: iso(10) }));
          await tx.appendHistory(historyRecord({ version: 2, committedAt: iso(20) }));
          await tx.appendHistory(historyRecord({ version: 3, committedAt: iso(20) }));
          await tx.appendHistory(historyRecord({ version: 4, committedAt: iso(30) }));
        });
        expect(await ts.seqBefore(iso(5))).toBe(0);
        expect(await ts.seqBefore(iso(10))).toBe(0); // strictly before
        expect(await ts.seqBefore(iso(11))).toBe(1);
        expect(await ts.seqBefore(iso(20))).toBe(1);
        expect(await ts.seqBefore(iso(25))).toBe(3);
        expect(await ts.seqBefore(iso(31))).toBe(4);
        // Non-canonical spellings of the same instants compare as instants, not as text.
        expect(await ts.seqBefore('2024-01-01T00:00:25Z')).toBe(3);
        expect(await ts.seqBefore('2024-01-01T01:00:25.000+01:00')).toBe(3);
        await expect(ts.seqBefore('not a time')).rejects.toThrow();
      });

      it('bumps the epoch without touching the seq', async () => {
        await ts.transact((tx) => tx.appendHistory(historyRecord()));
        expect(await ts.transact((tx) => tx.bumpEpoch())).toBe(1);
        expect(await ts.transact((tx) => tx.bumpEpoch())).toBe(2);
        expect(await ts.getTenantState()).toEqual({ seq: 1, epoch: 2 });
        // A brand-new tenant can be bumped before it has any change.
        const fresh = store.forTenant(tenantName('fresh'));
        expect(await fresh.transact((tx) => tx.bumpEpoch())).toBe(1);
        expect(await fresh.getTenantState()).toEqual({ seq: 0, epoch: 1 });
      });
    });

    describe('entities', () => {
      it('stores, replaces and tombstones an entity', async () => {
        expect(await ts.getEntity('task', 'e1')).toBeUndefined();
        await ts.transact((tx) => tx.putEntity(entityRecord()));
        expect(await ts.getEntity('task', 'e1')).toEqual(entityRecord());

        const updated = entityRecord({
          version: 2,
          payload: { title: 'two', done: true },
          checksum: 'c2',
          updatedBy: 'u2',
          deviceId: null,
          updatedAt: iso(2),
          seq: 5,
        });
        await ts.transact((tx) => tx.putEntity(updated));
        expect(await ts.getEntity('task', 'e1')).toEqual(updated);

        const tombstone = entityRecord({
          version: 3,
          payload: null,
          checksum: null,
          deletedAt: iso(3),
          updatedAt: iso(3),
          seq: 6,
        });
        await ts.transact((tx) => tx.putEntity(tombstone));
        expect(await ts.getEntity('task', 'e1')).toEqual(tombstone);
        expect(await ts.getEntity('note', 'e1')).toBeUndefined();
      });

      it('skips the live entities a reader is refused, and vouches for those it may see', async () => {
        const cases = visibilityCases(11);
        const live: EntityRecord[] = [];
        await ts.transact(async (tx) => {
          for (let i = 0; i < 120; i++) {
            const deleted = cases.random() < 0.1;
            const entity = entityRecord({
              entityType: cases.pick(['task', 'note', 'visit']),
              entityId: `e${String(i).padStart(3, '0')}`,
              createdBy: cases.pick(['u1', 'u2']),
              payload: deleted ? null : cases.payload(),
              deletedAt: deleted ? iso(2) : null,
              seq: i + 1,
            });
            await tx.putEntity(entity);
            if (!deleted) live.push(entity);
          }
        });
        const byKey = (e: { entityType: string; entityId: string }) =>
          `${e.entityType}/${e.entityId}`;
        const ordered = [...live].sort((x, y) => (byKey(x) < byKey(y) ? -1 : 1));
        for (let round = 0; round < 25; round++) {
          const visibility = cases.visibility();
          const rows = await ts.readEntities({ maxSeq: 1000, limit: 1000, visibility });
          const seen = ordered.filter(
            (e) =>
              verdictOf(conditionsFor(visibility, e.entityType), e.createdBy, e.payload) !== false,
          );
          expect(rows.map(byKey), `round ${round}`).toEqual(seen.map(byKey));
          for (const [i, row] of rows.entries()) {
            const entity = seen[i];
            if (!entity) throw new Error('entity missing');
            expectVerdict(row.visible, visibility, entity, `round ${round}`);
          }
        }
        // Without a reader's rules: every live entity, undecided.
        const unjudged = await ts.readEntities({ maxSeq: 1000, limit: 1000 });
        expect(unjudged.map((r) => [byKey(r), r.visible])).toEqual(
          ordered.map((e) => [byKey(e), null]),
        );
      });
    });

    describe('JSON round trip', () => {
      it('returns every JSON column exactly as written, key order included', async () => {
        const outcome = {
          status: 'REJECTED' as const,
          version: 3,
          conflictId: 'c-9',
          error: { code: 'VALIDATION_FAILED', message: 'bad', details: { path: ['/a', 0] } },
        };
        const seq = await ts.transact(async (tx) => {
          const s = await tx.appendHistory(historyRecord({ payload: trickyPayload }));
          await tx.putEntity(entityRecord({ payload: trickyPayload, seq: s }));
          await tx.insertMutation(
            mutationRecord({
              payload: trickyPayload,
              result: outcome,
              error: { code: 'E', message: 'ünïcode 🚑' },
            }),
          );
          await tx.insertConflict(
            conflictRecord({
              clientData: trickyPayload,
              serverData: { b: 1, a: 2 },
              baseData: {},
              overlappingFields: ['zeta', 'nested.b'],
            }),
          );
          await tx.insertAudit(auditRecord({ details: trickyPayload }));
          return s;
        });
        const same = (actual: unknown, expected: unknown) => {
          expect(actual).toStrictEqual(expected);
          expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
        };
        same((await ts.getEntity('task', 'e1'))?.payload, trickyPayload);
        same((await ts.getHistoryVersion('task', 'e1', 1))?.payload, trickyPayload);
        same((await ts.readFeed({ afterSeq: seq - 1, limit: 1 }))[0]?.payload, trickyPayload);
        const mutation = await ts.getMutation('d1', 'm1');
        same(mutation?.payload, trickyPayload);
        same(mutation?.result, outcome);
        same(mutation?.error, { code: 'E', message: 'ünïcode 🚑' });
        const conflict = await ts.getConflict('c-1');
        same(conflict?.clientData, trickyPayload);
        same(conflict?.serverData, { b: 1, a: 2 });
        same(conflict?.baseData, {});
        same(conflict?.overlappingFields, ['zeta', 'nested.b']);
        same((await ts.listAudit({}))[0]?.details, trickyPayload);
      });
    });

    describe('mutations', () => {
      it('inserts, reads and patches a mutation', async () => {
        expect(await ts.getMutation('d1', 'm1')).toBeUndefined();
        await ts.transact((tx) => tx.insertMutation(mutationRecord()));
        expect(await ts.getMutation('d1', 'm1')).toEqual(mutationRecord());
        expect(await ts.getMutation('d2', 'm1')).toBeUndefined();

        await ts.transact((tx) =>
          tx.updateMutation('d1', 'm1', {
            status: 'SYNCED',
            attempts: 1,
            result: { status: 'APPLIED', version: 1 },
            updatedAt: iso(2),
          }),
        );
        expect(await ts.getMutation('d1', 'm1')).toEqual(
          mutationRecord({
            status: 'SYNCED',
            attempts: 1,
            result: { status: 'APPLIED', version: 1 },
            updatedAt: iso(2),
          }),
        );
        await ts.transact((tx) =>
          tx.updateMutation('d1', 'm1', {
            status: 'FAILED',
            error: { code: 'UPSTREAM', message: 'down' },
            conflictId: 'c-1',
            result: null,
          }),
        );
        expect(await ts.getMutation('d1', 'm1')).toMatchObject({
          status: 'FAILED',
          attempts: 1,
          error: { code: 'UPSTREAM', message: 'down' },
          conflictId: 'c-1',
          result: null,
          payload: { title: 'one' },
        });
        // An empty patch is a no-op on an existing row.
        await ts.transact((tx) => tx.updateMutation('d1', 'm1', {}));
        expect((await ts.getMutation('d1', 'm1'))?.status).toBe('FAILED');
      });

      it('refuses a duplicate key and a patch of a missing mutation', async () => {
        await ts.transact((tx) => tx.insertMutation(mutationRecord()));
        await expect(ts.transact((tx) => tx.insertMutation(mutationRecord()))).rejects.toThrow();
        await expect(
          ts.transact((tx) => tx.updateMutation('d1', 'missing', { status: 'SYNCED' })),
        ).rejects.toThrow();
        await expect(ts.transact((tx) => tx.updateMutation('d9', 'm1', {}))).rejects.toThrow();
      });

      it('lists in arrival order with filters and a limit, and counts by status', async () => {
        await ts.transact(async (tx) => {
          // Timestamps out of order and tied: the list follows arrival, as the queue must.
          await tx.insertMutation(mutationRecord({ mutationId: 'm3', createdAt: iso(3) }));
          await tx.insertMutation(
            mutationRecord({ mutationId: 'm2', createdAt: iso(2), status: 'SYNCED' }),
          );
          await tx.insertMutation(
            mutationRecord({
              mutationId: 'm1b',
              createdAt: iso(1),
              status: 'FAILED',
              conflictStrategy: 'MERGE',
            }),
          );
          await tx.insertMutation(mutationRecord({ mutationId: 'm1a', createdAt: iso(1) }));
          await tx.insertMutation(
            mutationRecord({
              deviceId: 'd2',
              userId: 'u2',
              mutationId: 'm4',
              createdAt: iso(4),
              status: 'CONFLICT',
            }),
          );
        });
        const ids = (ms: MutationRecord[]) => ms.map((m) => `${m.deviceId}/${m.mutationId}`);
        expect(ids(await ts.listMutations({}))).toEqual([
          'd1/m3',
          'd1/m2',
          'd1/m1b',
          'd1/m1a',
          'd2/m4',
        ]);
        expect(ids(await ts.listMutations({ limit: 2 }))).toEqual(['d1/m3', 'd1/m2']);
        expect(ids(await ts.listMutations({ deviceId: 'd2' }))).toEqual(['d2/m4']);
        expect(ids(await ts.listMutations({ userId: 'u1', statuses: ['PENDING'] }))).toEqual([
          'd1/m3',
          'd1/m1a',
        ]);
        expect(ids(await ts.listMutations({ statuses: ['SYNCED', 'CONFLICT'] }))).toEqual([
          'd1/m2',
          'd2/m4',
        ]);
        expect(ids(await ts.listMutations({ mutationIds: ['m3', 'm4', 'zz'] }))).toEqual([
          'd1/m3',
          'd2/m4',
        ]);
        expect((await ts.getMutation('d1', 'm1b'))?.conflictStrategy).toBe('MERGE');
        expect(await ts.listMutations({ statuses: [] })).toEqual([]);
        expect(await ts.listMutations({ mutationIds: [] })).toEqual([]);

        expect(await ts.countMutations({})).toEqual({
          PENDING: 2,
          SYNCING: 0,
          SYNCED: 1,
          CONFLICT: 1,
          FAILED: 1,
        });
        expect(await ts.countMutations({ userId: 'u2' })).toEqual({ ...zeroCounts, CONFLICT: 1 });
        expect(
          await ts.countMutations({ deviceId: 'd1', statuses: ['PENDING', 'FAILED'] }),
        ).toEqual({ ...zeroCounts, PENDING: 2, FAILED: 1 });
        expect(await ts.countMutations({ mutationIds: ['m2'] })).toEqual({
          ...zeroCounts,
          SYNCED: 1,
        });
      });

      it('lists and counts by last change: before a time, least recently changed first', async () => {
        await ts.transact(async (tx) => {
          await tx.insertMutation(mutationRecord({ mutationId: 'a', updatedAt: iso(5) }));
          await tx.insertMutation(mutationRecord({ mutationId: 'b', updatedAt: iso(2) }));
          await tx.insertMutation(mutationRecord({ mutationId: 'c', updatedAt: iso(2) }));
          await tx.insertMutation(mutationRecord({ mutationId: 'd', updatedAt: iso(9) }));
        });
        const ids = (ms: MutationRecord[]) => ms.map((m) => m.mutationId);
        // Ties keep arrival order.
        expect(ids(await ts.listMutations({ order: 'leastRecentlyUpdated' }))).toEqual([
          'b',
          'c',
          'a',
          'd',
        ]);
        expect(ids(await ts.listMutations({ updatedBefore: iso(5) }))).toEqual(['b', 'c']);
        expect(
          ids(await ts.listMutations({ updatedBefore: iso(9), order: 'leastRecentlyUpdated' })),
        ).toEqual(['b', 'c', 'a']);
        expect(await ts.countMutations({ updatedBefore: iso(9) })).toEqual({
          ...zeroCounts,
          PENDING: 3,
        });
      });

      it('applies the default list limit of 100 and caps larger limits at 1000', async () => {
        await ts.transact(async (tx) => {
          for (let i = 0; i < 1005; i++) {
            await tx.insertMutation(
              mutationRecord({ mutationId: `m${String(i).padStart(5, '0')}`, payload: null }),
            );
          }
        });
        const page = await ts.listMutations({});
        expect(page).toHaveLength(100);
        expect(page[0]?.mutationId).toBe('m00000');
        expect(await ts.listMutations({ limit: 5000 })).toHaveLength(1000);
        expect((await ts.countMutations({})).PENDING).toBe(1005);
      });
    });

    describe('set-based reads and writes (the push path)', () => {
      it('reserves a range of seqs in one call, counting on from it, and rolls it back', async () => {
        await ts.transact(async (tx) => {
          expect(await tx.reserveSeqs(3)).toBe(1);
          await tx.insertHistory(
            [1, 2, 3].map((seq) => ({ ...historyRecord({ version: seq }), seq })),
          );
          expect(await tx.appendHistory(historyRecord({ version: 4 }))).toBe(4);
        });
        expect((await ts.getTenantState()).seq).toBe(4);
        await expect(
          ts.transact(async (tx) => {
            await tx.reserveSeqs(10);
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect((await ts.getTenantState()).seq).toBe(4);
        await ts.transact(async (tx) => {
          await expect(tx.reserveSeqs(0)).rejects.toThrow(RangeError);
        });
      });

      it('inserts many versions at once, JSON kept exactly, and refuses a duplicate version', async () => {
        const rows = [trickyPayload, { b: 1, a: [null] }, null].map((payload, i) => ({
          ...historyRecord({
            entityId: `e-${i} "quoted" ü`,
            payload,
            operation: payload === null ? ('DELETE' as const) : ('CREATE' as const),
            deletedAt: payload === null ? iso(5) : null,
            mutationId: i === 1 ? null : `m-${i}`,
          }),
          seq: i + 1,
        }));
        await ts.transact(async (tx) => {
          await tx.reserveSeqs(rows.length);
          await tx.insertHistory(rows);
        });
        const feed = await ts.readFeed({ afterSeq: 0, limit: 10 });
        expect(feed).toEqual(rows);
        expect(JSON.stringify(feed[0]?.payload)).toBe(JSON.stringify(trickyPayload));
        await expect(
          ts.transact(async (tx) => {
            const seq = await tx.reserveSeqs(1);
            await tx.insertHistory([{ ...(rows[0] as (typeof rows)[number]), seq }]);
          }),
        ).rejects.toThrow();
        expect((await ts.getTenantState()).seq).toBe(3);
      });

      it('upserts many entities at once (a repeated key keeps its last) and reads many by key', async () => {
        const other = store.forTenant(tenantName('other'));
        await other.transact((tx) =>
          tx.putEntities([entityRecord({ entityId: 'e1', version: 9 })]),
        );
        const keys = ['e1', 'e2', 'e 3 "ü"'];
        await ts.transact(async (tx) => {
          await tx.putEntities(keys.map((entityId) => entityRecord({ entityId })));
          await tx.putEntities([
            entityRecord({ entityId: 'e2', version: 2, payload: { title: 'first' } }),
            entityRecord({ entityId: 'e2', version: 3, payload: trickyPayload, seq: 7 }),
            entityRecord({ entityId: 'e1', version: 2, payload: null, deletedAt: iso(9) }),
          ]);
          expect(await tx.getEntities([])).toEqual([]);
          const found = await tx.getEntities([
            ...keys.map((entityId) => ({ entityType: 'task', entityId })),
            { entityType: 'task', entityId: 'missing' },
            { entityType: 'note', entityId: 'e1' },
          ]);
          const byId = new Map(found.map((e) => [e.entityId, e]));
          expect([...byId.keys()].sort()).toEqual([...keys].sort());
          expect(byId.get('e1')).toEqual(
            entityRecord({ entityId: 'e1', version: 2, payload: null, deletedAt: iso(9) }),
          );
          expect(byId.get('e2')).toEqual(
            entityRecord({ entityId: 'e2', version: 3, payload: trickyPayload, seq: 7 }),
          );
          expect(await tx.getEntity('task', 'e 3 "ü"')).toEqual(
            entityRecord({ entityId: 'e 3 "ü"' }),
          );
        });
        expect((await other.getEntity('task', 'e1'))?.version).toBe(9);
      });

      it('inserts many mutations in arrival order and reads many of one device by id', async () => {
        const ids = ['m-b', 'm-a', 'm-c "ü"'];
        await ts.transact(async (tx) => {
          await tx.insertMutation(mutationRecord({ mutationId: 'm-0' }));
          await tx.insertMutations(
            ids.map((mutationId) => mutationRecord({ mutationId, payload: trickyPayload })),
          );
          await tx.insertMutations([]);
          await tx.insertMutations([mutationRecord({ mutationId: 'm-x', deviceId: 'd2' })]);
        });
        const listed = await ts.listMutations({ deviceId: 'd1' });
        expect(listed.map((m) => m.mutationId)).toEqual(['m-0', ...ids]);
        expect(listed[1]).toEqual(mutationRecord({ mutationId: 'm-b', payload: trickyPayload }));
        await ts.transact(async (tx) => {
          expect(await tx.getMutations('d1', [])).toEqual([]);
          const found = await tx.getMutations('d1', [...ids, 'm-x', 'missing']);
          expect(found.map((m) => m.mutationId).sort()).toEqual([...ids].sort());
          expect((await tx.getMutations('d2', ['m-x', 'm-b'])).map((m) => m.mutationId)).toEqual([
            'm-x',
          ]);
          // An id asked for twice is answered once.
          const twice = await tx.getMutations('d1', ['m-a', 'm-b', 'm-a']);
          expect(twice.map((m) => m.mutationId).sort()).toEqual(['m-a', 'm-b']);
        });
        await expect(
          ts.transact((tx) => tx.insertMutations([mutationRecord({ mutationId: 'm-a' })])),
        ).rejects.toThrow();
      });

      it('writes a batch at once: seqs on from the counter, entities, mutations after the last arrival', async () => {
        const history = (first: number, ids: readonly string[]) =>
          ids.map((entityId, i) => ({
            ...historyRecord({ entityId, payload: trickyPayload }),
            seq: first + i,
          }));
        await ts.transact(async (tx) => {
          await tx.appendHistory(historyRecord({ entityId: 'before' }));
          await tx.insertMutation(mutationRecord({ mutationId: 'm-0' }));
          await tx.writeBatch({
            history: history(2, ['e1', 'e2']),
            entities: [entityRecord({ entityId: 'e1', seq: 2 }), entityRecord({ entityId: 'e2' })],
            mutations: [
              mutationRecord({ mutationId: 'm-2', payload: trickyPayload }),
              mutationRecord({ mutationId: 'm-1' }),
            ],
          });
          expect((await tx.getTenantState()).seq).toBe(3);
          // The transaction counts on after the batch: the next arrival and seq follow it.
          await tx.insertMutation(mutationRecord({ mutationId: 'm-3' }));
          expect(await tx.appendHistory(historyRecord({ entityId: 'after' }))).toBe(4);
          await tx.writeBatch({ history: [], entities: [], mutations: [] });
        });
        const feed = await ts.readFeed({ afterSeq: 0, limit: 10 });
        expect(feed.map((h) => [h.seq, h.entityId])).toEqual([
          [1, 'before'],
          [2, 'e1'],
          [3, 'e2'],
          [4, 'after'],
        ]);
        expect(feed[1]).toEqual(history(2, ['e1'])[0]);
        expect(await ts.getEntity('task', 'e1')).toEqual(entityRecord({ entityId: 'e1', seq: 2 }));
        const listed = await ts.listMutations({ deviceId: 'd1' });
        expect(listed.map((m) => m.mutationId)).toEqual(['m-0', 'm-2', 'm-1', 'm-3']);
        expect(listed[1]).toEqual(mutationRecord({ mutationId: 'm-2', payload: trickyPayload }));

        // Seqs that do not continue the counter fail the batch, and nothing of it stays.
        await expect(
          ts.transact((tx) =>
            tx.writeBatch({
              history: history(9, ['late']),
              entities: [entityRecord({ entityId: 'late' })],
              mutations: [mutationRecord({ mutationId: 'm-late' })],
            }),
          ),
        ).rejects.toThrow('seq range moved');
        expect((await ts.getTenantState()).seq).toBe(4);
        expect(await ts.getEntity('task', 'late')).toBeUndefined();
      });

      it("keeps the transaction's tenant state current through its writes and a rolled-back savepoint", async () => {
        await ts.transact(async (tx) => {
          expect(await tx.getTenantState()).toEqual({ seq: 0, epoch: 0 });
          await tx.reserveSeqs(2);
          expect(await tx.bumpEpoch()).toBe(1);
          expect(await tx.getTenantState()).toEqual({ seq: 2, epoch: 1 });
          await expect(
            tx.savepoint(async () => {
              await tx.reserveSeqs(5);
              await tx.bumpEpoch();
              expect(await tx.getTenantState()).toEqual({ seq: 7, epoch: 2 });
              throw new Error('undo');
            }),
          ).rejects.toThrow('undo');
          expect(await tx.getTenantState()).toEqual({ seq: 2, epoch: 1 });
        });
        expect(await ts.getTenantState()).toEqual({ seq: 2, epoch: 1 });
      });
    });

    describe('conflicts', () => {
      it('inserts, reads, patches and lists conflicts newest first', async () => {
        await ts.transact(async (tx) => {
          await tx.insertConflict(conflictRecord({ id: 'c-1', createdAt: iso(1) }));
          await tx.insertConflict(
            conflictRecord({
              id: 'c-2',
              createdAt: iso(2),
              entityId: 'e2',
              userId: 'u2',
              type: 'DELETED',
              baseData: null,
              overlappingFields: null,
              mutationId: null,
              deviceId: null,
            }),
          );
          await tx.insertConflict(
            conflictRecord({
              id: 'c-3',
              createdAt: iso(3),
              entityType: 'note',
              status: 'RESOLVED',
            }),
          );
        });
        expect(await ts.getConflict('c-2')).toEqual(
          conflictRecord({
            id: 'c-2',
            createdAt: iso(2),
            entityId: 'e2',
            userId: 'u2',
            type: 'DELETED',
            baseData: null,
            overlappingFields: null,
            mutationId: null,
            deviceId: null,
          }),
        );
        expect(await ts.getConflict('c-404')).toBeUndefined();
        const ids = (cs: ConflictRecord[]) => cs.map((c) => c.id);
        expect(ids(await ts.listConflicts({}))).toEqual(['c-3', 'c-2', 'c-1']);
        expect(ids(await ts.listConflicts({ limit: 1 }))).toEqual(['c-3']);
        expect(ids(await ts.listConflicts({ status: 'PENDING_REVIEW' }))).toEqual(['c-2', 'c-1']);
        expect(ids(await ts.listConflicts({ entityType: 'task', entityId: 'e1' }))).toEqual([
          'c-1',
        ]);
        expect(ids(await ts.listConflicts({ userId: 'u2' }))).toEqual(['c-2']);
        expect(ids(await ts.listConflicts({ deviceId: 'd1' }))).toEqual(['c-3', 'c-1']);

        await ts.transact((tx) =>
          tx.updateConflict('c-1', {
            status: 'RESOLVED',
            resolution: 'CLIENT_WINS',
            resolvedBy: 'admin1',
            resolvedAt: iso(9),
            serverData: { title: 'client' },
          }),
        );
        expect(await ts.getConflict('c-1')).toEqual(
          conflictRecord({
            id: 'c-1',
            status: 'RESOLVED',
            resolution: 'CLIENT_WINS',
            resolvedBy: 'admin1',
            resolvedAt: iso(9),
            serverData: { title: 'client' },
          }),
        );
        expect(ids(await ts.listConflicts({ status: 'RESOLVED' }))).toEqual(['c-3', 'c-1']);
        await expect(
          ts.transact((tx) => tx.updateConflict('c-404', { status: 'RESOLVED' })),
        ).rejects.toThrow();
        await expect(ts.transact((tx) => tx.insertConflict(conflictRecord()))).rejects.toThrow();
      });
    });

    describe('devices', () => {
      it('upserts devices, keeping the first registration time', async () => {
        expect(await ts.getDevice('d1')).toBeUndefined();
        await ts.transact(async (tx) => {
          await tx.upsertDevice(deviceRecord());
          await tx.upsertDevice(deviceRecord({ deviceId: 'd2', userId: 'u2', deviceName: null }));
          await tx.upsertDevice(deviceRecord({ deviceId: 'd0', userId: 'u1' }));
        });
        expect(await ts.getDevice('d1')).toEqual(deviceRecord());

        const revoked = deviceRecord({
          isActive: false,
          lastSyncAt: iso(5),
          syncToken: 'tok',
          appVersion: '1.1.0',
          schemaVersions: 'assets=1,visits=3',
          createdAt: iso(50),
        });
        await ts.transact((tx) => tx.upsertDevice(revoked));
        expect(await ts.getDevice('d1')).toEqual({ ...revoked, createdAt: iso(1) });

        const ids = (ds: DeviceRecord[]) => ds.map((d) => d.deviceId);
        expect(ids(await ts.listDevices({}))).toEqual(['d0', 'd1', 'd2']);
        expect(ids(await ts.listDevices({ userId: 'u1' }))).toEqual(['d0', 'd1']);
        expect(await ts.listDevices({ userId: 'u2' })).toEqual([
          deviceRecord({ deviceId: 'd2', userId: 'u2', deviceName: null }),
        ]);
        expect(await ts.listDevices({ userId: 'nobody' })).toEqual([]);
      });
    });

    describe('sync history and audit', () => {
      it('records sync requests and lists them newest first', async () => {
        await ts.transact(async (tx) => {
          await tx.insertSyncHistory(syncHistoryRecord({ createdAt: iso(1) }));
          await tx.insertSyncHistory(
            syncHistoryRecord({
              createdAt: iso(3),
              userId: 'u2',
              deviceId: null,
              networkType: null,
            }),
          );
          await tx.insertSyncHistory(syncHistoryRecord({ createdAt: iso(2), outcome: 'ok' }));
          // Same instant: the later insert counts as newer.
          await tx.insertSyncHistory(syncHistoryRecord({ createdAt: iso(3), route: '/later' }));
        });
        const all = await ts.listSyncHistory({});
        expect(all.map((r) => [r.createdAt, r.route])).toEqual([
          [iso(3), '/later'],
          [iso(3), '/api/sync'],
          [iso(2), '/api/sync'],
          [iso(1), '/api/sync'],
        ]);
        expect(all[3]).toEqual(syncHistoryRecord({ createdAt: iso(1) }));
        expect(await ts.listSyncHistory({ userId: 'u2' })).toEqual([
          syncHistoryRecord({ createdAt: iso(3), userId: 'u2', deviceId: null, networkType: null }),
        ]);
        expect(await ts.listSyncHistory({ limit: 2 })).toHaveLength(2);
      });

      it('records administrative acts and lists them newest first', async () => {
        await ts.transact(async (tx) => {
          for (let i = 0; i < 105; i++) {
            await tx.insertAudit(
              auditRecord({
                createdAt: iso(i),
                action: i % 2 === 0 ? 'device.revoke' : 'queue.retry',
                target: i === 0 ? null : `x${i}`,
                details: i === 0 ? null : { i },
              }),
            );
          }
        });
        const page = await ts.listAudit({});
        expect(page).toHaveLength(100);
        expect(page[0]).toEqual(
          auditRecord({
            createdAt: iso(104),
            action: 'device.revoke',
            target: 'x104',
            details: { i: 104 },
          }),
        );
        const revokes = await ts.listAudit({ action: 'device.revoke', limit: 1000 });
        expect(revokes).toHaveLength(53);
        expect(revokes.at(-1)).toEqual(
          auditRecord({ createdAt: iso(0), action: 'device.revoke', target: null, details: null }),
        );
        expect(await ts.listAudit({ action: 'queue.retry', limit: 3 })).toHaveLength(3);
      });
    });

    describe('transactions', () => {
      it('rolls back everything a throwing transaction wrote, and does not consume its seq', async () => {
        await ts.transact((tx) => tx.appendHistory(historyRecord({ entityId: 'before' })));
        const boom = new Error('boom');
        let seenInside: EntityRecord | undefined;
        await expect(
          ts.transact(async (tx) => {
            const seq = await tx.appendHistory(historyRecord());
            await tx.putEntity(entityRecord({ seq }));
            await tx.insertMutation(mutationRecord());
            await tx.insertConflict(conflictRecord());
            await tx.upsertDevice(deviceRecord());
            await tx.insertSyncHistory(syncHistoryRecord());
            await tx.insertAudit(auditRecord());
            await tx.bumpEpoch();
            seenInside = await tx.getEntity('task', 'e1');
            expect(await tx.getTenantState()).toEqual({ seq: 2, epoch: 1 });
            throw boom;
          }),
        ).rejects.toBe(boom);
        // The transaction saw its own writes …
        expect(seenInside).toEqual(entityRecord({ seq: 2 }));
        // … and none of them survived it.
        expect(await ts.getTenantState()).toEqual({ seq: 1, epoch: 0 });
        expect(await ts.getEntity('task', 'e1')).toBeUndefined();
        expect(await ts.getHistoryVersion('task', 'e1', 1)).toBeUndefined();
        expect((await ts.readFeed({ afterSeq: 0, limit: 10 })).map((r) => r.entityId)).toEqual([
          'before',
        ]);
        expect(await ts.getMutation('d1', 'm1')).toBeUndefined();
        expect(await ts.getConflict('c-1')).toBeUndefined();
        expect(await ts.getDevice('d1')).toBeUndefined();
        expect(await ts.listSyncHistory({})).toEqual([]);
        expect(await ts.listAudit({})).toEqual([]);
        expect(await ts.transact((tx) => tx.appendHistory(historyRecord()))).toBe(2);
      });

      it('rolls back when a statement fails part-way, and stays usable', async () => {
        await ts.transact((tx) => tx.insertMutation(mutationRecord()));
        await expect(
          ts.transact(async (tx) => {
            await tx.appendHistory(historyRecord());
            await tx.insertMutation(mutationRecord()); // duplicate key
          }),
        ).rejects.toThrow();
        expect(await ts.getTenantState()).toEqual({ seq: 0, epoch: 0 });
        expect(await ts.transact((tx) => tx.appendHistory(historyRecord()))).toBe(1);
      });

      it('refuses a transaction handle used after its transaction ended', async () => {
        let leaked: TenantTx | undefined;
        await ts.transact((tx) => {
          leaked = tx;
          return Promise.resolve();
        });
        expect(leaked).toBeDefined();
        await expect(leaked!.appendHistory(historyRecord())).rejects.toThrow();
        await expect(leaked!.getEntity('task', 'e1')).rejects.toThrow();
        expect(await ts.getTenantState()).toEqual({ seq: 0, epoch: 0 });
      });

      it('serializes check-then-insert: concurrent deliveries of one mutation apply once', async () => {
        const outcomes = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            ts.transact(async (tx) => {
              if (await tx.getMutation('d1', 'm1')) return 'duplicate';
              await sleep(2); // widen the window a race would need
              await tx.insertMutation(mutationRecord({ userId: `u${i}` }));
              await tx.appendHistory(historyRecord());
              return 'applied';
            }),
          ),
        );
        expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(7);
        expect(await ts.getTenantState()).toEqual({ seq: 1, epoch: 0 });
      });
    });

    describe('savepoints', () => {
      it('rolls back only what the failing savepoint wrote; the transaction commits the rest', async () => {
        const boom = new Error('boom');
        await ts.transact(async (tx) => {
          const kept = await tx.appendHistory(historyRecord({ entityId: 'kept' }));
          await tx.putEntity(entityRecord({ entityId: 'kept', seq: kept }));
          await expect(
            tx.savepoint(async () => {
              const seq = await tx.appendHistory(historyRecord({ entityId: 'lost' }));
              await tx.putEntity(entityRecord({ entityId: 'lost', seq }));
              await tx.insertMutation(mutationRecord({ mutationId: 'lost' }));
              await tx.raiseMutationMark('d1', 9, iso(1));
              throw boom;
            }),
          ).rejects.toBe(boom);
          // A failed statement inside a savepoint (PostgreSQL would abort the whole
          // transaction without one) leaves the transaction usable too.
          await tx.insertMutation(mutationRecord());
          await expect(tx.savepoint(() => tx.insertMutation(mutationRecord()))).rejects.toThrow();
          const after = await tx.savepoint(async () => {
            const seq = await tx.appendHistory(historyRecord({ entityId: 'after' }));
            await tx.putEntity(entityRecord({ entityId: 'after', seq }));
            return seq;
          });
          expect(after).toBe(2);
        });
        expect(await ts.getTenantState()).toEqual({ seq: 2, epoch: 0 });
        expect(await ts.getEntity('task', 'kept')).toBeDefined();
        expect(await ts.getEntity('task', 'after')).toBeDefined();
        expect(await ts.getEntity('task', 'lost')).toBeUndefined();
        expect(await ts.getMutation('d1', 'lost')).toBeUndefined();
        expect(await ts.getMutation('d1', 'm1')).toBeDefined();
        expect(await ts.transact((tx) => tx.getMutationMark('d1'))).toBe(0);
      });

      it('nests: an inner rollback keeps the outer savepoint', async () => {
        await ts.transact(async (tx) => {
          await tx.savepoint(async () => {
            await tx.appendHistory(historyRecord({ entityId: 'outer' }));
            await expect(
              tx.savepoint(async () => {
                await tx.appendHistory(historyRecord({ entityId: 'inner' }));
                throw new Error('inner');
              }),
            ).rejects.toThrow('inner');
          });
        });
        const feed = await ts.readFeed({ afterSeq: 0, limit: 10 });
        expect(feed.map((r) => [r.seq, r.entityId])).toEqual([[1, 'outer']]);
      });
    });

    describe('mutation marks', () => {
      it('starts at 0 and only rises, per device', async () => {
        const marks = await ts.transact(async (tx) => {
          const seen = [await tx.getMutationMark('d1')];
          await tx.raiseMutationMark('d1', 5, iso(1));
          seen.push(await tx.getMutationMark('d1'));
          await tx.raiseMutationMark('d1', 3, iso(2));
          seen.push(await tx.getMutationMark('d1'));
          await tx.raiseMutationMark('d1', 7, iso(3));
          seen.push(await tx.getMutationMark('d1'), await tx.getMutationMark('d2'));
          return seen;
        });
        expect(marks).toEqual([0, 5, 5, 7, 0]);
        expect(await ts.transact((tx) => tx.getMutationMark('d1'))).toBe(7);
        const big = Number.MAX_SAFE_INTEGER;
        await ts.transact((tx) => tx.raiseMutationMark('d2', big, iso(4)));
        expect(await ts.transact((tx) => tx.getMutationMark('d2'))).toBe(big);
      });

      it("is the tenant's own: another tenant's device of the same id starts at 0", async () => {
        await ts.transact((tx) => tx.raiseMutationMark('d1', 4, iso(1)));
        const other = store.forTenant(tenantName('other'));
        expect(await other.transact((tx) => tx.getMutationMark('d1'))).toBe(0);
      });

      it("finds the history row a device's mutation wrote, and no other device's", async () => {
        await ts.transact(async (tx) => {
          await tx.appendHistory(historyRecord({ mutationId: 'm1' }));
          await tx.appendHistory(historyRecord({ version: 2, mutationId: 'm2', deviceId: 'd1' }));
          await tx.appendHistory(historyRecord({ version: 3, mutationId: 'm1', deviceId: 'd2' }));
        });
        const found = await ts.transact((tx) => tx.getHistoryByMutation('d1', 'task', 'e1', 'm2'));
        expect(found?.version).toBe(2);
        const d2 = await ts.transact((tx) => tx.getHistoryByMutation('d2', 'task', 'e1', 'm1'));
        expect(d2?.version).toBe(3);
        const none = await ts.transact((tx) => tx.getHistoryByMutation('d2', 'task', 'e1', 'm2'));
        expect(none).toBeUndefined();
        const other = store.forTenant(tenantName('other'));
        expect(
          await other.transact((tx) => tx.getHistoryByMutation('d1', 'task', 'e1', 'm2')),
        ).toBeUndefined();
      });
    });

    describe('tenant isolation', () => {
      it("never shows one tenant another tenant's rows through any read", async () => {
        const a = store.forTenant(tenantName('a'));
        const b = store.forTenant(tenantName('b'));
        await populate(a);

        expect(await b.getTenantState()).toEqual({ seq: 0, epoch: 0 });
        expect(await b.getEntity('task', 'e1')).toBeUndefined();
        expect(await b.getHistoryVersion('task', 'e1', 1)).toBeUndefined();
        expect(await b.listHistory('task', 'e1')).toEqual([]);
        expect(await b.readFeed({ afterSeq: 0, limit: 100 })).toEqual([]);
        expect(await b.readFeed({ afterSeq: 0, limit: 100, entityTypes: ['task'] })).toEqual([]);
        expect(await b.seqBefore(iso(1_000_000))).toBe(0);
        expect(await b.getMutation('d1', 'm1')).toBeUndefined();
        expect(await b.listMutations({})).toEqual([]);
        expect(
          await b.listMutations({ deviceId: 'd1', userId: 'u1', mutationIds: ['m1'] }),
        ).toEqual([]);
        expect(await b.countMutations({})).toEqual(zeroCounts);
        expect(await b.getConflict('c-1')).toBeUndefined();
        expect(await b.listConflicts({})).toEqual([]);
        expect(await b.getDevice('d1')).toBeUndefined();
        expect(await b.listDevices({})).toEqual([]);
        expect(await b.listDevices({ userId: 'u1' })).toEqual([]);
        expect(await b.listSyncHistory({})).toEqual([]);
        expect(await b.listAudit({})).toEqual([]);

        // Reads inside B's transaction are walled off too, and B cannot patch A's rows.
        await b.transact(async (tx) => {
          expect(await tx.getEntity('task', 'e1')).toBeUndefined();
          expect(await tx.getMutation('d1', 'm1')).toBeUndefined();
          expect(await tx.readFeed({ afterSeq: 0, limit: 10 })).toEqual([]);
          expect(await tx.getTenantState()).toEqual({ seq: 0, epoch: 0 });
        });
        await expect(
          b.transact((tx) => tx.updateMutation('d1', 'm1', { status: 'FAILED' })),
        ).rejects.toThrow();
        await expect(
          b.transact((tx) => tx.updateConflict('c-1', { status: 'RESOLVED' })),
        ).rejects.toThrow();

        // The same keys are free in B, and B's writes leave A untouched.
        await b.transact(async (tx) => {
          expect(await tx.appendHistory(historyRecord({ payload: { owner: 'b' } }))).toBe(1);
          await tx.putEntity(entityRecord({ payload: { owner: 'b' } }));
          await tx.insertMutation(mutationRecord({ userId: 'ub' }));
          await tx.insertConflict(conflictRecord({ userId: 'ub' }));
          await tx.upsertDevice(deviceRecord({ userId: 'ub' }));
        });
        expect(await a.getEntity('task', 'e1')).toEqual(entityRecord({ seq: 1 }));
        expect(await a.getHistoryVersion('task', 'e1', 1)).toEqual({ ...historyRecord(), seq: 1 });
        expect((await a.getMutation('d1', 'm1'))?.userId).toBe('u1');
        expect((await a.getConflict('c-1'))?.userId).toBe('u1');
        expect((await a.getDevice('d1'))?.userId).toBe('u1');
        expect(await a.getTenantState()).toEqual({ seq: 1, epoch: 1 });
        expect(await b.getTenantState()).toEqual({ seq: 1, epoch: 0 });
        expect((await b.readFeed({ afterSeq: 0, limit: 10 }))[0]?.payload).toEqual({ owner: 'b' });
        expect(await a.countMutations({})).toEqual({ ...zeroCounts, SYNCED: 1 });
        expect(await b.countMutations({})).toEqual({ ...zeroCounts, PENDING: 1 });
      });
    });

    describe('gap-free change feed', () => {
      it('shows a paging reader every seq exactly once, in order, under 8 concurrent writers', async () => {
        const seed = Date.now() >>> 0;
        const random = prng(seed);
        const jitter = () => sleep(Math.floor(random() * 3)); // 0–2 ms
        const WRITERS = 8;
        const PER_WRITER = 25;
        const TOTAL = WRITERS * PER_WRITER;
        console.info(`[store conformance ${name}] gap-free test seed ${seed}`);

        let writersDone = false;
        const writers = Promise.all(
          Array.from({ length: WRITERS }, async (_, w) => {
            for (let i = 0; i < PER_WRITER; i++) {
              await ts.transact(async (tx) => {
                await jitter();
                const entityId = `w${w}-e${i % 3}`;
                const version = Math.floor(i / 3) + 1;
                const seq = await tx.appendHistory(
                  historyRecord({ entityId, version, mutationId: `${w}:${i}` }),
                );
                // The window a non-serialized store would expose: seq allocated, not committed.
                await jitter();
                await tx.putEntity(entityRecord({ entityId, version, seq }));
                await jitter();
              });
            }
          }),
        ).finally(() => {
          writersDone = true;
        });

        const seen: number[] = [];
        let cursor = 0;
        try {
          for (;;) {
            const finished = writersDone; // read before the page, so the last page is complete
            // Plain reads and read transactions alike.
            const page =
              seen.length % 2 === 0
                ? await ts.readFeed({ afterSeq: cursor, limit: 7 })
                : await ts.read((reads) =>
                    reads.readFeedEntries({ afterSeq: cursor, limit: 7, visibility: everyone }),
                  );
            for (const row of page) {
              expect(row.seq, `seed ${seed}: gap after ${cursor}`).toBe(cursor + 1);
              seen.push(row.seq);
              cursor = row.seq;
            }
            if (page.length === 0 && finished) break;
            if (page.length < 7) await jitter();
          }
        } finally {
          // Let the writers settle before the store closes, even when the reader failed.
          await writers.catch(() => undefined);
        }
        await writers;

        expect(seen, `seed ${seed}`).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
        expect(await ts.getTenantState()).toEqual({ seq: TOTAL, epoch: 0 });
        // Every writer's entity holds the seq of its last version.
        const last = await ts.getEntity('task', 'w0-e0');
        expect(last?.seq).toBe(
          (await ts.getHistoryVersion('task', 'w0-e0', last?.version ?? 0))?.seq,
        );
      });
    });
  });
}
