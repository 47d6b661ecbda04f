// Seeds a SQLite tenant with N entities fast: one change is written through the store, so its rows
// are exactly what the store writes, and then each table that holds it (the tables keyed by tenant
// with an entity_id and a seq: the entities and their history) gets N - 1 copies in SQL, each with
// its own entity id, seq and mutation id, in large transactions; the tenant's counter is moved past
// them. Every copy carries the template's ~220-byte payload.
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import { openStore, sqliteFileIn } from '../packages/server/src/store/index.js';
import { writeThroughStore } from './contenders.js';
import { progress } from './progress.js';
import { thousands } from './table.js';
import { attendance } from './workload.js';

const CHUNK = 50_000;

type Row = Record<string, unknown>;

/** Answers the rate it seeded at, entities per second. */
export async function seedTenant(
  dataDir: string,
  tenant: string,
  entities: number,
): Promise<number> {
  const start = performance.now();
  progress.start(`seeding a tenant of ${thousands(entities)} entities`, entities);
  const deviceId = `${tenant}-seed`;
  const store = await openStore({ dataDir });
  try {
    await writeThroughStore(store, tenant, deviceId, [attendance(0, deviceId, tenant)], 1);
  } finally {
    await store.close();
  }
  const db = new Database(sqliteFileIn(dataDir));
  try {
    const copies = templateTables(db, tenant).map(({ table, template }) => {
      const columns = Object.keys(template);
      const insert = db.prepare(
        `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
      );
      return (i: number) => {
        const row: Row = {
          ...template,
          entity_id: `att-${tenant}-${i}`,
          seq: Number(template.seq) + i,
        };
        if ('mutation_id' in template) row.mutation_id = `${deviceId}-${i}`;
        insert.run(columns.map((c) => row[c]));
      };
    });
    const chunk = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) for (const copy of copies) copy(i);
    });
    for (let from = 1; from < entities; from += CHUNK) {
      const to = Math.min(entities, from + CHUNK);
      chunk(from, to);
      progress.tick(to - from);
    }
    db.prepare('UPDATE tenants SET seq = seq + ? WHERE tenant = ?').run(
      Math.max(0, entities - 1),
      tenant,
    );
  } finally {
    db.close();
  }
  progress.tick(1);
  return Math.round(entities / ((performance.now() - start) / 1000));
}

function templateTables(db: Database.Database, tenant: string) {
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as Array<{
    name: string;
  }>;
  return tables.flatMap(({ name }) => {
    const columns = (
      db.prepare(`PRAGMA table_info("${name}")`).all() as Array<{ name: string }>
    ).map((c) => c.name);
    if (!['tenant', 'entity_id', 'seq'].every((c) => columns.includes(c))) return [];
    const rows = db.prepare(`SELECT * FROM "${name}" WHERE tenant = ?`).all(tenant) as Row[];
    if (rows.length !== 1) return [];
    return [{ table: name, template: rows[0] as Row }];
  });
}
