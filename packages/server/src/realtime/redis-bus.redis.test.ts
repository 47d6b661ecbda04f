// Redis pub/sub between two instances' buses (one publisher and one subscriber connection each,
// on a channel of this run's own): an event published by one reaches both, in order.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitEvent } from '../engine/commit-events.js';
import { testRedisUrl } from '../testing/env.js';
import type { RealtimeBus } from './realtime-bus.js';
import { createRedisBus } from './redis-bus.js';

if (process.env.CI === 'true' && !testRedisUrl) {
  throw new Error(
    'CI=true but SYNCLINE_TEST_REDIS_URL is not set: the Redis suites must run in CI',
  );
}

describe.skipIf(!testRedisUrl)(
  `Redis realtime bus${testRedisUrl ? '' : ' (skipped: SYNCLINE_TEST_REDIS_URL is not set)'}`,
  () => {
    const channel = `syncline-test-${randomBytes(5).toString('hex')}:realtime`;
    const clients: Redis[] = [];
    const buses: RealtimeBus[] = [];
    const connect = () => {
      const client = new Redis(testRedisUrl as string);
      clients.push(client);
      return client;
    };

    beforeAll(() => {
      for (let i = 0; i < 2; i++) {
        buses.push(createRedisBus({ publisher: connect(), subscriber: connect(), channel }));
      }
    });

    afterAll(async () => {
      await Promise.all(buses.map((bus) => bus.close()));
      await Promise.all(clients.map((client) => client.quit()));
    });

    it('carries every event to every instance, the publisher included, in order', async () => {
      const heard: CommitEvent[][] = [[], []];
      await Promise.all(buses.map((bus, i) => bus.subscribe((e) => heard[i]?.push(e))));
      const events: CommitEvent[] = Array.from({ length: 5 }, (_, n) => ({
        kind: 'changes',
        tenant: 't1',
        seq: n + 1,
        epoch: 0,
        changes: [
          { entityType: 'task', entityId: `e${n}`, seq: n + 1, createdBy: 'u1', fields: {} },
        ],
      }));
      for (const event of events) buses[0]?.publish(event);
      buses[1]?.publish({ kind: 'device-revoked', tenant: 't1', deviceId: 'd1' });
      await expect.poll(() => heard.map((h) => h.length), { timeout: 5000 }).toEqual([6, 6]);
      for (const h of heard) {
        expect(h.slice(0, 5)).toEqual(events);
        expect(h[5]).toEqual({ kind: 'device-revoked', tenant: 't1', deviceId: 'd1' });
      }
    });
  },
);
