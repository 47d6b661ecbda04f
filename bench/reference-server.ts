// The benchmark's reference: a minimal sync server on Fastify + better-sqlite3, run as its own
// process (bench/reference-process.ts). One upsert table keyed by (tenant, type, id) with a version
// and a per-tenant seq, durable as Syncline's SQLite (WAL, synchronous=FULL). Push upserts a batch
// in one transaction; pull answers the rows after a seq in seq order, a page at a time. A bearer
// token (HS256, the tenant in its claims) is checked on every call. PORT, DATA_DIR, SECRET.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Fastify, { type FastifyRequest } from 'fastify';

type Doc = { entityType: string; entityId: string; mutationId: string; payload: unknown };

const db = new Database(join(process.env.DATA_DIR ?? '.', 'reference.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec(`CREATE TABLE IF NOT EXISTS docs (tenant TEXT, type TEXT, id TEXT, version INTEGER,
  seq INTEGER, payload TEXT, PRIMARY KEY (tenant, type, id)) WITHOUT ROWID;
  CREATE UNIQUE INDEX IF NOT EXISTS docs_feed ON docs (tenant, seq);
  CREATE TABLE IF NOT EXISTS tenants (tenant TEXT PRIMARY KEY, seq INTEGER) WITHOUT ROWID;`);
const reserve = db.prepare(`INSERT INTO tenants VALUES (?, ?) ON CONFLICT (tenant)
  DO UPDATE SET seq = seq + excluded.seq RETURNING seq`);
const upsert = db.prepare(`INSERT INTO docs VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (tenant, type, id)
  DO UPDATE SET version = version + 1, seq = excluded.seq, payload = excluded.payload RETURNING version`);
const feed = db.prepare('SELECT * FROM docs WHERE tenant = ? AND seq > ? ORDER BY seq LIMIT ?');
const pushBatch = db.transaction((tenant: string, changes: Doc[]) => {
  let seq = (reserve.get(tenant, changes.length) as { seq: number }).seq - changes.length;
  return changes.map((c) => {
    const row = upsert.get(tenant, c.entityType, c.entityId, ++seq, JSON.stringify(c.payload));
    return {
      mutationId: c.mutationId,
      status: 'APPLIED',
      version: (row as { version: number }).version,
    };
  });
});

const secret = process.env.SECRET ?? '';
function tenantOf(request: FastifyRequest): string {
  const [header = '', body = '', signature = ''] = (request.headers.authorization ?? '')
    .slice(7)
    .split('.');
  const expected = createHmac('sha256', secret).update(`${header}.${body}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw Object.assign(new Error('bad token'), { statusCode: 401 });
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as {
    tenant: string;
    exp: number;
  };
  if (claims.exp * 1000 < Date.now())
    throw Object.assign(new Error('expired token'), { statusCode: 401 });
  return claims.tenant;
}

const app = Fastify({ bodyLimit: 16 * 1024 * 1024 });
app.get('/healthz', async () => ({ ok: true }));
app.post<{ Body: { changes: Doc[] } }>('/push', async (request) => ({
  results: pushBatch(tenantOf(request), request.body.changes),
}));
app.post<{ Body: { after?: number; pageSize?: number } }>('/pull', async (request) => {
  const limit = Math.min(request.body.pageSize ?? 1000, 1000);
  const rows = feed.all(tenantOf(request), request.body.after ?? 0, limit) as Array<
    Record<string, unknown>
  >;
  const changes = rows.map((r) => ({
    entityType: r.type,
    entityId: r.id,
    version: r.version,
    seq: r.seq,
    payload: JSON.parse(r.payload as string) as unknown,
  }));
  return {
    changes,
    hasMore: rows.length === limit,
    after: rows.at(-1)?.seq ?? request.body.after ?? 0,
  };
});
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
