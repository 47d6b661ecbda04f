// Indexed queries through the public client: find({ where, orderBy, limit, offset }) on declared
// fields over confirmed and queued data, refusals, indexes declared after data was stored, the
// indexed values kept in clear (and only they) under encryption at rest, and live queries that
// run again only for changes that can affect them.
import { afterEach, describe, expect, it } from 'vitest';
import { healthyServer, scriptedFetch } from '../../../test/support/sdk-fetch.js';
import { createSyncClient, type SyncClient } from './create-sync-client.js';
import type { IndexDeclaration } from './core/index-declaration.js';
import type { LocalStore, StorageQuery, StorageWrite } from './core/ports.js';
import { QueryError } from './core/query.js';
import { memoryStorage } from './store/index.js';

interface Patient {
  name: string;
  facility: string;
  age: number;
  secret?: string;
}

const clients: SyncClient[] = [];
const cleanups: Array<() => void> = [];
afterEach(async () => {
  for (const stop of cleanups.splice(0)) stop();
  for (const client of clients.splice(0)) await client.close();
});

function makeClient(
  storage: LocalStore,
  indexes: IndexDeclaration = ['facility', 'age'],
  encrypted = false,
) {
  const client = createSyncClient({
    url: 'http://sync.test',
    getToken: () => 'token-1',
    storage,
    fetch: scriptedFetch(healthyServer).fetch,
    realtime: false,
    // The scripted server speaks the feed only; the snapshot has its own tests.
    firstSync: 'feed',
    collections: { patient: { indexes } },
    ...(encrypted ? { encryption: { passphrase: 'pass phrase', iterations: 1000 } } : {}),
  });
  clients.push(client);
  return client;
}

async function seed(client: SyncClient) {
  const patients = client.collection<Patient>('patient');
  const people: Array<[string, string, number]> = [
    ['Ada', 'north', 36],
    ['Bo', 'south', 71],
    ['Cy', 'north', 5],
    ['Di', 'east', 36],
    ['Ed', 'north', 90],
  ];
  for (const [name, facility, age] of people) {
    await patients.create({ name, facility, age, secret: `${name}'s diagnosis` }, { id: name });
  }
  return patients;
}

const names = (rows: Array<{ name: string }>) => rows.map((row) => row.name);

describe('find with a query', () => {
  it('filters, orders and pages on indexed fields, over confirmed and queued data alike', async () => {
    const client = makeClient(memoryStorage());
    const patients = await seed(client);
    const query = {
      where: { facility: 'north', age: { gte: 10 } },
      orderBy: { field: 'age', direction: 'desc' as const },
    };
    // All queued, none confirmed yet.
    expect(names(await patients.find(query))).toEqual(['Ed', 'Ada']);
    await client.syncNow();
    expect(client.status.pending).toBe(0);
    // All confirmed: the storage answers from its index.
    expect(names(await patients.find(query))).toEqual(['Ed', 'Ada']);
    // A queued change over a confirmed row: judged on the rebased view.
    await patients.update('Cy', { age: 50 });
    await patients.update('Ed', { facility: 'south' });
    expect(names(await patients.find(query))).toEqual(['Cy', 'Ada']);
    expect(names(await patients.find({ where: { facility: { in: ['south', 'east'] } } }))).toEqual([
      'Bo',
      'Di',
      'Ed',
    ]);
    expect(names(await patients.find({ orderBy: 'age', limit: 2, offset: 1 }))).toEqual([
      'Di',
      'Cy',
    ]);
    // The older forms still scan, on any field.
    expect(names(await patients.find({ name: 'Bo' }))).toEqual(['Bo']);
  });

  it('refuses a field that is not indexed, and a malformed query, with a QueryError', async () => {
    const client = makeClient(memoryStorage());
    const patients = await seed(client);
    await expect(patients.find({ where: { name: 'Ada' } })).rejects.toMatchObject({
      name: 'QueryError',
      code: 'FIELD_NOT_INDEXED',
      message: expect.stringContaining('collections.patient.indexes'),
    });
    await expect(patients.find({ orderBy: 'name' })).rejects.toBeInstanceOf(QueryError);
    await expect(
      patients.find({ where: { age: { gt: 3, lt: 'x' } as never } }),
    ).rejects.toMatchObject({ code: 'INVALID_QUERY' });
    await expect(patients.find({ limit: -1 })).rejects.toMatchObject({ code: 'INVALID_QUERY' });
  });
});

/** A memory storage that records the puts and queries it is handed. */
function recordingStorage() {
  const inner = memoryStorage();
  const puts: Array<Extract<StorageWrite, { kind: 'putEntity' }>> = [];
  const queries: StorageQuery[] = [];
  const storage: LocalStore = {
    ...inner,
    write(writes, options) {
      for (const write of writes) if (write.kind === 'putEntity') puts.push(write);
      return inner.write(writes, options);
    },
    queryEntities(type, query) {
      queries.push(query);
      return inner.queryEntities(type, query);
    },
  };
  return { storage, puts, queries };
}

describe('compound indexes', () => {
  it('are refused, naming the collection, when malformed or over an undeclared field', () => {
    const make = (indexes: unknown) => () => makeClient(memoryStorage(), indexes as never);
    expect(make(['facility', ['facility', 'age']])).toThrow(
      expect.objectContaining({
        name: 'IndexDeclarationError',
        code: 'INVALID_INDEXES',
        message: expect.stringMatching(/collections\.patient\.indexes: .*"age"/),
      }),
    );
    expect(make(['facility', 'age', ['facility']])).toThrow(/collections\.patient\.indexes/);
    expect(make(['facility', 'age', ['age', 'age']])).toThrow(/one field twice/);
    expect(make(['facility', 'age', ['facility', 'age'], ['facility', 'age']])).toThrow(
      /declared twice/,
    );
    expect(make(['facility', 3])).toThrow(/neither a field name nor/);
    expect(make('facility')).toThrow(/must be a list/);
  });

  it('reach the storage with every put and query of the collection, through encryption too', async () => {
    const { storage, puts, queries } = recordingStorage();
    const client = makeClient(storage, ['facility', 'age', ['facility', 'age']], true);
    const patients = await seed(client);
    await client.syncNow();
    const confirmed = puts.filter((put) => put.row.type === 'patient');
    expect(confirmed.length).toBeGreaterThan(0);
    for (const put of confirmed) expect(put.compounds).toEqual([['facility', 'age']]);
    expect(names(await patients.find({ where: { facility: 'north' }, orderBy: 'age' }))).toEqual([
      'Cy',
      'Ada',
      'Ed',
    ]);
    expect(queries.at(-1)?.compounds).toEqual([['facility', 'age']]);
  });

  it('declared later write every stored row again with them; plain lists pass none', async () => {
    const { storage, puts, queries } = recordingStorage();
    const first = makeClient(storage);
    const patients = await seed(first);
    await first.syncNow();
    await patients.find({ where: { facility: 'north' }, orderBy: 'age' });
    expect(puts.every((put) => put.compounds === undefined)).toBe(true);
    expect(queries.at(-1)?.compounds).toBeUndefined();
    puts.length = 0;
    const second = makeClient(storage, ['facility', 'age', ['facility', 'age']]);
    const again = second.collection<Patient>('patient');
    expect(names(await again.find({ where: { facility: 'north' }, orderBy: 'age' }))).toEqual([
      'Cy',
      'Ada',
      'Ed',
    ]);
    expect(puts.map((put) => put.row.id).sort()).toEqual(['Ada', 'Bo', 'Cy', 'Di', 'Ed']);
    for (const put of puts) expect(put.compounds).toEqual([['facility', 'age']]);
  });
});

describe('with encryption at rest', () => {
  it('answers indexed queries, keeping only the indexed values in clear', async () => {
    const inner = memoryStorage();
    const client = makeClient(inner, ['facility', 'age'], true);
    const patients = await seed(client);
    await client.syncNow();
    expect(names(await patients.find({ where: { facility: 'north' }, orderBy: 'age' }))).toEqual([
      'Cy',
      'Ada',
      'Ed',
    ]);
    const stored = await inner.listEntities('patient');
    expect(stored).toHaveLength(5);
    for (const row of stored) {
      expect(Object.keys(row.fields ?? {}).sort()).toEqual(['age', 'facility']);
      expect(row.body).not.toContain('diagnosis');
      expect(row.body).not.toContain('north');
    }
  });
});

describe('live queries', () => {
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

  it('run again only for a change to an entity they show or one that matches afterwards', async () => {
    const client = makeClient(memoryStorage());
    const patients = await seed(client);
    const results: string[][] = [];
    const first = new Promise<void>((resolve) => {
      const stop = patients.watch({ where: { facility: 'north' }, orderBy: 'age' }, (rows) => {
        results.push(names(rows));
        resolve();
      });
      cleanups.push(stop);
    });
    await first;
    await settle();
    const runs = results.length;
    expect(results.at(-1)).toEqual(['Cy', 'Ada', 'Ed']);

    // Neither shown nor matching: the result cannot change, so the query does not run.
    await patients.update('Bo', { age: 72 });
    await patients.create({ name: 'Fe', facility: 'east', age: 20 }, { id: 'Fe' });
    await settle();
    expect(results.length).toBe(runs);

    // Matches after the change: it may have entered.
    await patients.update('Bo', { facility: 'north' });
    await settle();
    expect(results.length).toBe(runs + 1);
    expect(results.at(-1)).toEqual(['Cy', 'Ada', 'Bo', 'Ed']);

    // Shown before the change: it may have left.
    await patients.update('Ada', { facility: 'south' });
    await settle();
    expect(results.length).toBe(runs + 2);
    expect(results.at(-1)).toEqual(['Cy', 'Bo', 'Ed']);
  });

  it('reports a refused query through onError', async () => {
    const client = makeClient(memoryStorage());
    const patients = client.collection<Patient>('patient');
    const error = await new Promise((resolve) =>
      patients.watch({ where: { name: 'x' } }, () => undefined, resolve),
    );
    expect(error).toMatchObject({ code: 'FIELD_NOT_INDEXED' });
  });
});
