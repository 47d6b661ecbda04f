// The hub on its own, with fake timers: heartbeats on schedule, expiry at the token's exp, pokes
// only forward (an event that arrives late from another instance pokes nobody), the entityTypes
// filter, a revoked device, and shutdown's reconnect hint.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Actor } from '../engine/actor.js';
import { createCollectionRegistry } from '../engine/collections.js';
import type { CommitEvent } from '../engine/commit-events.js';
import { createRealtimeHub, type StreamEnd, type StreamSink } from './realtime-hub.js';
import { presetCollections } from '../seeds/presets.js';

const collections = createCollectionRegistry({}, presetCollections);

function recordingSink() {
  const seen = { pokes: [] as string[], heartbeats: 0, ended: [] as StreamEnd[] };
  const sink: StreamSink = {
    poke: (token) => void seen.pokes.push(token),
    heartbeat: () => void (seen.heartbeats += 1),
    end: (how) => void seen.ended.push(how),
  };
  return { sink, seen };
}

const actor = (userId: string, exp?: number): Actor => ({
  tenant: 't1',
  userId,
  role: 'user',
  claims: exp === undefined ? {} : { exp },
});

const changes = (seq: number, entityType = 'task'): CommitEvent => ({
  kind: 'changes',
  tenant: 't1',
  seq,
  epoch: 0,
  changes: [{ entityType, entityId: `e${seq}`, seq, createdBy: 'u9', fields: {} }],
});

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('realtime hub', () => {
  it('heartbeats every interval; ends a stream when its token expires', () => {
    const hub = createRealtimeHub({ collections, heartbeatMs: 1000 });
    const { sink, seen } = recordingSink();
    hub.add({
      actor: actor('u1', Math.floor(Date.now() / 1000) + 5),
      deviceId: 'd1',
      scope: 'aaaaaaaaaaaa',
      entityTypes: undefined,
      seq: 0,
      epoch: 0,
      sink,
    });
    expect(seen.pokes).toEqual(['v1.0.0.aaaaaaaaaaaa']);
    vi.advanceTimersByTime(3000);
    expect(seen.heartbeats).toBe(3);
    vi.advanceTimersByTime(3000);
    expect(seen.ended).toEqual([{ reason: 'token-expired' }]);
    expect(hub.size()).toBe(0);
    hub.closeAll();
  });

  it('pokes forward only, filters by entityTypes, ends a revoked device, hints reconnect on close', () => {
    const hub = createRealtimeHub({ collections, heartbeatMs: 60_000, reconnectJitterMs: 1000 });
    const all = recordingSink();
    const onlyAssets = recordingSink();
    const other = recordingSink();
    const base = { actor: actor('u1'), entityTypes: undefined, seq: 2, epoch: 0 };
    hub.add({ ...base, deviceId: 'all', scope: 'aaaaaaaaaaaa', sink: all.sink });
    hub.add({
      ...base,
      deviceId: 'assets',
      scope: 'bbbbbbbbbbbb',
      entityTypes: ['asset'],
      sink: onlyAssets.sink,
    });
    hub.add({ ...base, deviceId: 'gone', scope: 'cccccccccccc', sink: other.sink });

    hub.deliver(changes(5));
    hub.deliver(changes(4)); // late, from another instance: already covered by seq 5
    hub.deliver(changes(6, 'asset'));
    hub.deliver({ ...changes(7), tenant: 'elsewhere' });
    expect(all.seen.pokes).toEqual([
      'v1.2.0.aaaaaaaaaaaa',
      'v1.5.0.aaaaaaaaaaaa',
      'v1.6.0.aaaaaaaaaaaa',
    ]);
    expect(onlyAssets.seen.pokes).toEqual(['v1.2.0.bbbbbbbbbbbb', 'v1.6.0.bbbbbbbbbbbb']);

    hub.deliver({ kind: 'epoch', tenant: 't1', seq: 6, epoch: 1 });
    expect(onlyAssets.seen.pokes.at(-1)).toBe('v1.6.1.bbbbbbbbbbbb');

    hub.deliver({ kind: 'device-revoked', tenant: 't1', deviceId: 'gone' });
    expect(other.seen.ended).toEqual([{ reason: 'device-revoked' }]);
    expect(hub.size()).toBe(2);

    hub.closeAll();
    expect(hub.closing).toBe(true);
    for (const ended of [all.seen.ended, onlyAssets.seen.ended]) {
      expect(ended).toEqual([{ reason: 'reconnect', retryAfterMs: expect.any(Number) }]);
      const hint = ended[0] as { retryAfterMs: number };
      expect(hint.retryAfterMs).toBeGreaterThanOrEqual(500);
      expect(hint.retryAfterMs).toBeLessThan(1500);
    }
    expect(hub.size()).toBe(0);

    // A stream whose opening finished after shutdown began is sent on its way, not kept.
    const late = recordingSink();
    hub.add({ ...base, deviceId: 'late', scope: 'dddddddddddd', sink: late.sink });
    expect(late.seen.ended).toEqual([{ reason: 'reconnect', retryAfterMs: 500 }]);
    expect(late.seen.pokes).toEqual([]);
    expect(hub.size()).toBe(0);
  });
});
