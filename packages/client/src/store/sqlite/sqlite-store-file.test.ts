// What the SQLite adapter promises about its file, beyond the LocalStore contract.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { sqliteStorage } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'syncline-client-sqlite-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sqliteStorage file', () => {
  it('journals in WAL mode and commits each write before it resolves, seen by another connection', async () => {
    const path = join(dir, 'wal.db');
    const store = sqliteStorage(path);
    await store.write([
      {
        kind: 'putEntity',
        row: { type: 'task', id: 't1', version: 1, deleted: false, body: '{}' },
      },
    ]);
    const other = new BetterSqlite3(path, { readonly: true });
    try {
      expect(other.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(other.prepare('SELECT id FROM entities').all()).toEqual([{ id: 't1' }]);
    } finally {
      other.close();
      await store.close();
    }
  });

  it('refuses a file written by a newer schema with a clear error', () => {
    const path = join(dir, 'newer.db');
    const db = new BetterSqlite3(path);
    db.pragma('user_version = 99');
    db.close();
    expect(() => sqliteStorage(path)).toThrow(/schema 99.*reads schema 1/);
  });

  it("lets the next holder in once a dead holder's lease has expired, not before", async () => {
    const path = join(dir, 'dead-holder.db');
    const store = sqliteStorage(path);
    // What a process killed inside its section leaves behind: a lease nobody renews.
    const expiresAt = Date.now() + 300;
    const raw = new BetterSqlite3(path);
    raw
      .prepare('INSERT INTO meta (key, value) VALUES (?, ?)')
      .run('syncline.store.lease.sync', JSON.stringify({ holder: 'killed', expiresAt }));
    raw.close();
    try {
      const admittedAt = await store.exclusive('sync', async () => Date.now());
      expect(admittedAt).toBeGreaterThanOrEqual(expiresAt);
    } finally {
      await store.close();
    }
  });

  it('renews its lease while a section outlasts it, so nobody else gets in meanwhile', async () => {
    const path = join(dir, 'long-section.db');
    // Long enough that a busy machine's event-loop stalls stay well inside one renewal period.
    const first = sqliteStorage(path, { leaseMs: 300 });
    const second = sqliteStorage(path, { leaseMs: 300 });
    const log: string[] = [];
    try {
      let release!: () => void;
      const long = first.exclusive('sync', async () => {
        log.push('first in');
        await new Promise<void>((resolve) => (release = resolve));
        log.push('first out');
      });
      await vi.waitFor(() => expect(log).toEqual(['first in']));
      const next = second.exclusive('sync', async () => log.push('second in'));
      // Several lease lengths pass; the renewals keep the lease with its holder.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(log).toEqual(['first in']);
      release();
      await Promise.all([long, next]);
      expect(log).toEqual(['first in', 'first out', 'second in']);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('gives up its lease on close, so another connection need not wait for the expiry', async () => {
    const path = join(dir, 'closed-holder.db');
    const first = sqliteStorage(path, { leaseMs: 60_000 });
    const second = sqliteStorage(path);
    try {
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      void first.exclusive('sync', async () => {
        entered();
        await new Promise(() => undefined);
      });
      await inside;
      await first.close();
      expect(await second.exclusive('sync', async () => 'in')).toBe('in');
    } finally {
      await second.close();
    }
  });
});
