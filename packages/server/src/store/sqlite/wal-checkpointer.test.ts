// WAL checkpoints run on a worker thread: the serving connection writes and never waits for the
// log to be copied back, yet the database file catches up on its own.
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openSqliteDatabase, type SqliteDriverDatabase } from './sqlite-sync-store.js';
import { backstopCheckpointPages } from './wal-checkpointer.js';

let dir: string;
let file: string;
let db: SqliteDriverDatabase;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'syncline-checkpoint-'));
  file = join(dir, 'syncline.db');
  db = openSqliteDatabase(file);
});

afterEach(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the WAL checkpointer', () => {
  it('copies committed pages into the database file while the serving connection only writes', async () => {
    expect(db.pragma('wal_autocheckpoint')).toEqual([
      { wal_autocheckpoint: backstopCheckpointPages },
    ]);
    db.prepare('create table notes (body text not null)').run([]);
    const insert = db.prepare('insert into notes (body) values (?)');
    for (let i = 0; i < 50; i++) {
      db.prepare('begin').run([]);
      for (let j = 0; j < 10; j++) insert.run(['x'.repeat(1000)]);
      db.prepare('commit').run([]);
    }
    // About 130 pages, far below the backstop: this connection has copied nothing back itself.
    const written = statSync(file).size;
    expect(written).toBeLessThan(100_000);
    await vi.waitFor(() => expect(statSync(file).size).toBeGreaterThan(500_000), {
      timeout: 5000,
      interval: 50,
    });
  });
});
