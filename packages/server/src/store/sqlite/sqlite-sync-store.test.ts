// The SQLite adapter against the store conformance suite, on a fresh in-memory database per test.
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runStoreConformance } from '../../testing/store-conformance.js';
import { createSqliteSyncStore, withStatementCache } from './sqlite-sync-store.js';

runStoreConformance('sqlite', () => createSqliteSyncStore({ file: ':memory:' }));

describe('withStatementCache', () => {
  it('reuses a prepared statement for the same SQL and keeps at most `size` of them', () => {
    const db = withStatementCache(new BetterSqlite3(':memory:'), 2);
    const first = db.prepare('select 1');
    expect(db.prepare('select 1')).toBe(first);
    const evicted = db.prepare('select 2');
    db.prepare('select 1'); // most recent again
    db.prepare('select 3'); // evicts 'select 2', the least recently used
    expect(db.prepare('select 1')).toBe(first);
    const second = db.prepare('select 2');
    expect(second).not.toBe(evicted);
    expect(db.prepare('select 2')).toBe(second);
    expect(second.all([])).toEqual([{ 2: 2 }]);
    db.close();
  });
});
