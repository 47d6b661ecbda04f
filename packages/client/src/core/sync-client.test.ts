// The core without a network: reads are confirmed state plus the device's own queued changes,
// pulls and push responses update the confirmed store (reset, revoked, acknowledgements,
// conflicts), and queued changes carry the version they were made on. The transport is a
// scripted implementation of the Transport port; storage is the real memoryStorage.
import type {
  Conflict,
  DeltaRequest,
  DeltaResponse,
  PushRequest,
  PushResponse,
  ServerChange,
} from '@syncline/protocol';
import { describe, expect, it } from 'vitest';
import { memoryStorage } from '../store/index.js';
import type { LocalStore } from './ports.js';
import { SyncCore, type ConflictView, type SyncProgress } from './sync-client.js';
import { TransportError, TransportFailure, type Transport } from './sync-ports.js';

let ids = 0;
const serverChange = (
  id: string,
  version: number,
  payload: Record<string, unknown> | null,
  extra: Partial<ServerChange> = {},
): ServerChange => ({
  entityType: 'item',
  entityId: id,
  operation: payload === null ? 'DELETE' : version === 1 ? 'CREATE' : 'UPDATE',
  payload,
  version,
  clientVersion: version,
  timestamp: '2026-01-01T00:00:00.000Z',
  updatedBy: 'someone',
  deviceId: 'other',
  checksum: null,
  deletedAt: payload === null ? '2026-01-01T00:00:00.000Z' : null,
  seq: version,
  ...extra,
});

const page = (changes: ServerChange[], extra: Partial<DeltaResponse> = {}): DeltaResponse => ({
  changes,
  nextPageToken: null,
  hasMore: false,
  syncToken: `v1.${changes.length}.0.000000000000`,
  ...extra,
});

/** A Transport whose pulls come from a queue of pages and whose pushes a function answers. */
function scriptedTransport(options: {
  pages?: DeltaResponse[];
  push?: (request: PushRequest) => PushResponse;
  estimateRemaining?: Transport['estimateRemaining'];
}) {
  const pages = [...(options.pages ?? [])];
  const pushes: PushRequest[] = [];
  const deltas: DeltaRequest[] = [];
  const transport: Transport = {
    async push(request) {
      pushes.push(request);
      if (!options.push) throw new Error('no push expected');
      return options.push(request);
    },
    async delta(request) {
      deltas.push(request);
      return pages.shift() ?? page([]);
    },
    ...(options.estimateRemaining ? { estimateRemaining: options.estimateRemaining } : {}),
  };
  return { transport, pushes, deltas, pages };
}

async function openCore(transport: Transport, storage: LocalStore = memoryStorage()) {
  const conflicts: ConflictView[] = [];
  const core = await SyncCore.open({
    storage,
    transport,
    deviceId: 'device-1',
    batchSize: 100,
    pullPageSize: 100,
    maxAttempts: 5,
    maxBatchBytes: 10 * 1024 * 1024,
    newId: () => `id-${++ids}`,
    now: () => new Date('2026-01-01T00:00:00Z'),
    events: {
      change: () => undefined,
      conflict: (c) => conflicts.push(c),
      counts: () => undefined,
    },
  });
  return { core, conflicts, items: core.collection<Record<string, unknown>>('item') };
}

const applyAll = (request: PushRequest, version: (n: number) => number): PushResponse => ({
  syncToken: 'v1.9.0.000000000000',
  changes: [],
  hasMore: false,
  results: request.changes.map((change, n) => ({
    mutationId: change.mutationId ?? '',
    entityType: change.entityType,
    entityId: change.entityId,
    status: 'APPLIED',
    version: version(n),
  })),
  conflicts: [],
  serverTime: '2026-01-01T00:00:00.000Z',
});

describe('reads rebase the outbox on confirmed state', () => {
  it("shows the device's pending patch on top of every newer server state", async () => {
    const net = scriptedTransport({
      pages: [page([serverChange('a', 1, { title: 'Pump', status: 'ok', site: 'north' })])],
    });
    const { core, items } = await openCore(net.transport);
    await core.sync();
    // The user edits while the next pull is on the wire; the pull brings another device's edit.
    net.transport.delta = async () => {
      await items.update('a', { status: 'broken', site: null });
      return page([serverChange('a', 2, { title: 'Pump 2', status: 'ok', site: 'north' })]);
    };
    await core.sync();
    expect(core.pendingCount).toBe(1);
    expect(await items.get('a')).toEqual({ id: 'a', title: 'Pump 2', status: 'broken' });
    expect(await items.find()).toEqual([{ id: 'a', title: 'Pump 2', status: 'broken' }]);
  });

  it('replays queued changes over pulled state, and the queued versions follow the chain', async () => {
    const storage = memoryStorage();
    let nextPush: (request: PushRequest) => PushResponse = () => {
      throw new TransportError(TransportFailure.NETWORK, 'offline');
    };
    const net = scriptedTransport({
      pages: [page([serverChange('a', 3, { title: 'Pump', status: 'ok' })])],
      push: (request) => nextPush(request),
    });
    const { core, items } = await openCore(net.transport, storage);
    await core.sync();
    await items.update('a', { status: 'broken' });
    await items.update('a', { note: 'leaks' });
    const created = await items.create({ title: 'Valve' });
    await items.update(created, { status: 'new' });

    // Offline: the push fails, reads still show every queued change.
    await expect(core.sync()).rejects.toThrow('offline');
    expect(await items.find()).toEqual([
      { id: 'a', title: 'Pump', status: 'broken', note: 'leaks' },
      { id: created, title: 'Valve', status: 'new' },
    ]);
    expect(core.pendingCount).toBe(4);

    nextPush = (request) => applyAll(request, (n) => [4, 5, 1, 2][n] ?? 0);
    const summary = await core.sync();
    expect(summary).toMatchObject({ pushed: 4, failed: 0, conflicts: 0 });
    const sent = net.pushes.at(-1)?.changes ?? [];
    expect(sent.map((change) => [change.operation, change.clientVersion])).toEqual([
      ['UPDATE', 3],
      ['UPDATE', 4],
      ['CREATE', 1],
      ['UPDATE', 1],
    ]);
    // Acknowledged before the feed brought them: the confirmed store already holds the result.
    expect(core.pendingCount).toBe(0);
    expect(await storage.getEntity('item', 'a')).toMatchObject({ version: 5, deleted: false });
    expect(await items.get(created)).toEqual({ id: created, title: 'Valve', status: 'new' });
  });

  it('a pending delete hides the entity; a refused id stays visible until discarded', async () => {
    const net = scriptedTransport({
      pages: [page([serverChange('a', 1, { title: 'Pump' }), serverChange('b', 1, { n: 1 })])],
    });
    const { core, items } = await openCore(net.transport);
    await core.sync();
    await items.delete('a');
    expect(await items.get('a')).toBeUndefined();
    expect((await items.find()).map((item) => item.id)).toEqual(['b']);
    await expect(items.update('a', { title: 'x' })).rejects.toThrow('does not exist');
    await expect(items.create({ n: 2 }, { id: 'b' })).rejects.toThrow('exists');
    // The server keeps the tombstone: a deleted id is not created again.
    await expect(items.create({ title: 'again' }, { id: 'a' })).rejects.toThrow(
      'cannot be used again',
    );
  });
});

describe('pulls', () => {
  it('reset clears the confirmed store and keeps the outbox', async () => {
    const net = scriptedTransport({
      pages: [page([serverChange('a', 1, { n: 1 }), serverChange('b', 1, { n: 2 })])],
    });
    const { core, items } = await openCore(net.transport);
    await core.sync();
    let local = '';
    net.transport.delta = async () => {
      local = await items.create({ n: 3 });
      return page([serverChange('b', 1, { n: 2 })], { reset: true });
    };
    await core.sync();
    expect(core.pendingCount).toBe(1);
    expect(await items.find()).toEqual([
      { id: 'b', n: 2 },
      { id: local, n: 3 },
    ]);
  });

  it('a revoked change removes the local copy; older versions never overwrite newer ones', async () => {
    const net = scriptedTransport({
      pages: [
        page([
          serverChange('a', 2, { n: 2 }),
          serverChange('a', 1, { n: 1 }),
          serverChange('b', 1, { n: 1 }),
          serverChange('b', 2, null, { revoked: true, deletedAt: null }),
        ]),
      ],
    });
    const { core, items } = await openCore(net.transport);
    await core.sync();
    expect(await items.find()).toEqual([{ id: 'a', n: 2 }]);
  });

  it('pages until hasMore is false and reports "pulled n of about N"', async () => {
    const net = scriptedTransport({
      pages: [
        page([serverChange('a', 1, { n: 1 })], { hasMore: true }),
        page([serverChange('b', 1, { n: 1 })], { hasMore: true }),
        page([serverChange('c', 1, { n: 1 })]),
      ],
      estimateRemaining: async () => 2,
    });
    const { core } = await openCore(net.transport);
    const progress: SyncProgress[] = [];
    const summary = await core.sync((p) => progress.push(p));
    expect(summary.pulled).toBe(3);
    expect(net.deltas.map((d) => d.syncToken)).toEqual([
      undefined,
      'v1.1.0.000000000000',
      'v1.1.0.000000000000',
    ]);
    expect(progress.map((p) => [p.pulled, p.total])).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });

  it('an unknown sync token makes the device pull afresh', async () => {
    const storage = memoryStorage();
    await storage.write([
      { kind: 'setMeta', key: 'sync.token', value: 'stale' },
      {
        kind: 'putEntity',
        row: { type: 'item', id: 'gone', version: 1, deleted: false, body: '{}' },
      },
    ]);
    let first = true;
    const transport: Transport = {
      push: async () => {
        throw new Error('no push expected');
      },
      delta: async (request) => {
        if (first) {
          first = false;
          expect(request.syncToken).toBe('stale');
          throw new TransportError(TransportFailure.REFUSED, 'bad token', {
            status: 400,
            code: 'INVALID_SYNC_TOKEN',
          });
        }
        expect(request.syncToken).toBeUndefined();
        return page([serverChange('kept', 1, { n: 1 })]);
      },
    };
    const { core, items } = await openCore(transport, storage);
    await core.sync();
    expect(await items.find()).toEqual([{ id: 'kept', n: 1 }]);
  });
});

describe('conflicts', () => {
  it("keeps each conflict until acknowledged; the server's outcome becomes the local state", async () => {
    const conflict: Conflict = {
      id: 'c-1',
      type: 'VERSION_MISMATCH',
      entityType: 'item',
      entityId: 'a',
      mutationId: null,
      deviceId: 'device-1',
      clientVersion: 1,
      serverVersion: 2,
      clientData: { n: 10 },
      serverData: { n: 2 },
      baseData: { n: 1 },
      suggestedResolution: 'MANUAL',
      resolution: null,
      status: 'PENDING_REVIEW',
      resolvedBy: null,
      resolvedAt: null,
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    const net = scriptedTransport({
      pages: [page([serverChange('a', 1, { n: 1 })])],
      push: (request) => ({
        syncToken: 'v1.3.0.000000000000',
        changes: [serverChange('a', 2, { n: 2 })],
        hasMore: false,
        results: request.changes.map((change) => ({
          mutationId: change.mutationId ?? '',
          entityType: 'item',
          entityId: 'a',
          status: 'CONFLICT',
          version: 2,
          conflictId: 'c-1',
        })),
        conflicts: [{ ...conflict, mutationId: request.changes[0]?.mutationId ?? null }],
        serverTime: '2026-01-01T00:00:00.000Z',
      }),
    });
    const { core, items, conflicts } = await openCore(net.transport);
    await core.sync();
    await items.update('a', { n: 10 });
    const summary = await core.sync();
    expect(summary).toMatchObject({ pushed: 1, conflicts: 1 });
    expect(await items.get('a')).toEqual({ id: 'a', n: 2 });
    expect(conflicts).toHaveLength(1);
    expect(await core.conflicts()).toMatchObject([{ id: 'c-1', waitingForReview: true }]);
    await core.acknowledgeConflict('c-1');
    expect(await core.conflicts()).toEqual([]);
  });
});

describe('a device clock that runs fast', () => {
  it("sends each change with its outbox row's seq, increasing across pushes", async () => {
    const net = scriptedTransport({ push: (request) => applyAll(request, () => 1) });
    const { core, items } = await openCore(net.transport);
    await items.create({ n: 1 });
    await items.create({ n: 2 });
    await core.sync();
    await items.create({ n: 3 });
    await core.sync();
    const seqs = net.pushes.flatMap((push) => push.changes.map((change) => change.seq));
    expect(seqs).toHaveLength(3);
    for (const seq of seqs) expect(Number.isInteger(seq) && (seq as number) >= 1).toBe(true);
    expect([...seqs].sort((a, b) => (a as number) - (b as number))).toEqual(seqs);
    expect(new Set(seqs).size).toBe(3);
  });

  it('keeps a change the server failed and rolled back (CHANGE_FAILED) queued, and sends it again', async () => {
    let failures = 1;
    const sent: Array<[string, number | undefined]> = [];
    const net = scriptedTransport({
      push: (request) => {
        const response = applyAll(request, () => 1);
        response.results = response.results.map((result, n) => {
          sent.push([result.mutationId, request.changes[n]?.seq]);
          if (failures-- <= 0) return result;
          const { version: _v, ...rest } = result;
          return {
            ...rest,
            status: 'REJECTED',
            error: { code: 'CHANGE_FAILED', message: 'rolled back' },
          };
        });
        return response;
      },
    });
    const { core, items } = await openCore(net.transport);
    await items.create({ n: 1 });
    expect(await core.sync()).toMatchObject({ pushed: 1, failed: 0 });
    expect(core.pendingCount).toBe(0);
    expect(await core.failed()).toEqual([]);
    // The same mutation under the same seq, twice.
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(sent[0]);
  });

  it('restamps a change refused as FUTURE_TIMESTAMP on the server clock and stamps later ones right', async () => {
    const serverNow = Date.parse('2026-01-01T12:00:00Z');
    const deviceNow = serverNow + 10 * 60_000;
    const stamps: string[] = [];
    const transport: Transport = {
      async push(request) {
        return {
          syncToken: 'v1.1.0.000000000000',
          changes: [],
          hasMore: false,
          results: request.changes.map((change) => {
            stamps.push(change.timestamp);
            const ahead = Date.parse(change.timestamp) > serverNow + 5 * 60_000;
            return {
              mutationId: change.mutationId ?? '',
              entityType: change.entityType,
              entityId: change.entityId,
              ...(ahead
                ? {
                    status: 'REJECTED' as const,
                    error: { code: 'FUTURE_TIMESTAMP', message: 'ahead' },
                  }
                : { status: 'APPLIED' as const, version: 1 }),
            };
          }),
          conflicts: [],
          serverTime: new Date(serverNow).toISOString(),
        };
      },
      delta: async () => page([]),
    };
    const storage = memoryStorage();
    const open = () =>
      SyncCore.open({
        storage,
        transport,
        deviceId: 'fast-clock',
        batchSize: 100,
        pullPageSize: 100,
        maxAttempts: 5,
        maxBatchBytes: 10 * 1024 * 1024,
        newId: () => `id-${++ids}`,
        now: () => new Date(deviceNow),
        events: { change: () => undefined, conflict: () => undefined, counts: () => undefined },
      });
    const core = await open();
    await core.collection('item').create({ n: 1 });
    expect(await core.sync()).toMatchObject({ pushed: 1, failed: 0 });
    expect(stamps).toEqual([new Date(deviceNow).toISOString(), new Date(serverNow).toISOString()]);

    // The measured offset is kept: after a restart, new changes carry the server's time.
    const restarted = await open();
    await restarted.collection('item').create({ n: 2 });
    await restarted.sync();
    expect(stamps.at(-1)).toBe(new Date(serverNow).toISOString());
    expect(stamps).toHaveLength(3);
  });
});
