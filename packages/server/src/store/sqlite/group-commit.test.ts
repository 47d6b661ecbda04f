// Group commit: queued writers share one COMMIT, nobody is answered before it, a writer that
// throws fails alone, and an error that ends the transaction fails its whole group.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../schema.js';
import { createGroupCommit, type GroupCommit, type GroupCommitOptions } from './group-commit.js';
import { openSqliteDatabase } from './sqlite-sync-store.js';
import { TurnTakingSqliteDialect } from './turn-taking-dialect.js';

let dir: string;
let db: Kysely<Database>;
let other: BetterSqlite3.Database;
let commits: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'syncline-group-commit-'));
  const file = join(dir, 'group.db');
  const database = openSqliteDatabase(file);
  commits = 0;
  const counting = {
    ...database,
    prepare(text: string) {
      if (/^commit$/i.test(text)) commits++;
      return database.prepare(text);
    },
  };
  db = new Kysely<Database>({ dialect: new TurnTakingSqliteDialect({ database: counting }) });
  await sql`create table notes (tenant text not null, body text not null)`.execute(db);
  await sql`create table parents (id integer primary key)`.execute(db);
  await sql`create table children (parent integer references parents (id) deferrable initially deferred)`.execute(
    db,
  );
  // Another connection, as a crash-recovered reader would be: it sees committed data only.
  other = new BetterSqlite3(file);
});

afterEach(async () => {
  other.close();
  await db.destroy();
  await rm(dir, { recursive: true, force: true });
});

const group = (options: Partial<GroupCommitOptions> = {}) =>
  createGroupCommit(db, { begin: 'begin immediate', ...options });

const note = (tenant: string, body: string) => async (conn: Kysely<Database>) => {
  await sql`insert into notes (tenant, body) values (${tenant}, ${body})`.execute(conn);
  return body;
};

const committedNotes = () =>
  (other.prepare('select body from notes order by rowid').all() as { body: string }[]).map(
    (r) => r.body,
  );

/** Starts writers in one turn, as concurrent requests would; each settles to a word. */
function writeAll(
  run: GroupCommit,
  writers: [string, (conn: Kysely<Database>) => Promise<string>][],
) {
  return Promise.all(
    writers.map(([tenant, work]) =>
      run(tenant, work).then(
        (value) => ({ value, seenCommitted: committedNotes().includes(value) }),
        (error: Error) => ({ error: error.message }),
      ),
    ),
  );
}

describe('group commit on SQLite', () => {
  it('commits queued writers together and answers each after the COMMIT', async () => {
    const writers = Array.from(
      { length: 10 },
      (_, i) => ['shop', note('shop', `sale ${i}`)] as [string, ReturnType<typeof note>],
    );
    const outcomes = await writeAll(group(), writers);
    expect(outcomes).toEqual(writers.map((_, i) => ({ value: `sale ${i}`, seenCommitted: true })));
    expect(commits).toBe(1);
  });

  it('fails a writer that throws alone, its writes undone', async () => {
    const outcomes = await writeAll(group(), [
      ['shop', note('shop', 'first')],
      [
        'shop',
        async (conn) => {
          await note('shop', 'half-done')(conn);
          throw new Error('refused half-way');
        },
      ],
      ['shop', note('shop', 'third')],
    ]);
    expect(outcomes).toEqual([
      { value: 'first', seenCommitted: true },
      { error: 'refused half-way' },
      { value: 'third', seenCommitted: true },
    ]);
    expect(committedNotes()).toEqual(['first', 'third']);
    expect(commits).toBe(1);
  });

  it('fails the whole group when a writer ends the transaction, and goes on after it', async () => {
    const run = group();
    const outcomes = await writeAll(run, [
      ['shop', note('shop', 'first')],
      [
        'shop',
        async (conn) => {
          // As SQLite does itself on some errors (a full disk, an I/O error).
          await sql.raw('rollback').execute(conn);
          throw new Error('disk full');
        },
      ],
      ['shop', note('shop', 'next group')],
    ]);
    // The first had run in the group that was lost; the third had not started, and ran in the
    // next group.
    expect(outcomes).toEqual([
      { error: 'disk full' },
      { error: 'disk full' },
      { value: 'next group', seenCommitted: true },
    ]);
    expect(committedNotes()).toEqual(['next group']);
  });

  it('fails every writer of a group whose COMMIT fails, and commits none of them', async () => {
    const outcomes = await writeAll(group(), [
      ['shop', note('shop', 'first')],
      [
        'shop',
        async (conn) => {
          // A deferred foreign key is checked at COMMIT only.
          await sql`insert into children (parent) values (42)`.execute(conn);
          return 'orphan';
        },
      ],
    ]);
    expect(outcomes).toEqual([
      { error: 'FOREIGN KEY constraint failed' },
      { error: 'FOREIGN KEY constraint failed' },
    ]);
    expect(committedNotes()).toEqual([]);
  });

  it('takes tenants in turn: a busy tenant holds another up by one writer', async () => {
    const order: string[] = [];
    const recorded = (tenant: string, label: string) => async (conn: Kysely<Database>) => {
      order.push(label);
      return note(tenant, label)(conn);
    };
    await writeAll(group(), [
      ['busy', recorded('busy', 'busy 1')],
      ['busy', recorded('busy', 'busy 2')],
      ['busy', recorded('busy', 'busy 3')],
      ['quiet', recorded('quiet', 'quiet 1')],
      ['busy', recorded('busy', 'busy 4')],
    ]);
    expect(order).toEqual(['busy 1', 'quiet 1', 'busy 2', 'busy 3', 'busy 4']);
  });

  it('bounds a group by its number of writers', async () => {
    const writers = Array.from(
      { length: 5 },
      (_, i) => ['shop', note('shop', `sale ${i}`)] as [string, ReturnType<typeof note>],
    );
    const outcomes = await writeAll(group({ maxWriters: 2 }), writers);
    expect(outcomes.every((o) => 'value' in o && o.seenCommitted)).toBe(true);
    expect(commits).toBe(3);
  });

  it('lets the event loop turn between the writers of a group', async () => {
    const run = group();
    let turns = 0;
    let turnsBeforeAnswer: number | undefined;
    const count = () => {
      turns++;
      if (turnsBeforeAnswer === undefined) setImmediate(count);
    };
    setImmediate(count);
    const writers = Array.from({ length: 20 }, (_, i) =>
      run('shop', note('shop', `sale ${i}`)).then(() => {
        turnsBeforeAnswer ??= turns;
      }),
    );
    await Promise.all(writers);
    // One group, answered at its COMMIT: the loop turned between its writers, not only once.
    expect(commits).toBe(1);
    expect(turnsBeforeAnswer).toBeGreaterThanOrEqual(19);
  });
});
