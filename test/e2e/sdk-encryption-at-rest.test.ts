// An encrypted client on a SQLite file, syncing with the real server: after it has pushed its own
// records, pulled another user's, met a conflict and queued a change offline, the raw file holds
// none of the payloads in clear, though it holds every id; the passphrase opens it all again, and
// a wrong one is refused.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncClient, memoryStorage } from '../../packages/client/src/index.js';
import { sqliteStorage } from '../../packages/client/src/sqlite.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

let server: ServerProcess;
const dir = mkdtempSync(join(tmpdir(), 'syncline-e2e-at-rest-'));

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const encryption = { passphrase: 'clinic tablet 4 passphrase', iterations: 10_000 };

/** Distinctive payloads, one per way data reaches the device. */
const secrets = {
  pushed: 'Thandiwe Nkosi, TB treatment week 3',
  pulled: 'Sipho Dlamini, antenatal visit 2',
  conflictMine: 'Blood pressure 150/95 recorded by tablet',
  conflictTheirs: 'Blood pressure 120/80 recorded at desk',
  queued: 'Lerato Mokoena, HIV test positive',
};

function rawBytes(path: string): string {
  return ['', '-wal', '-journal']
    .map((suffix) => path + suffix)
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file).toString('latin1'))
    .join('');
}

describe('an encrypted client at rest', () => {
  it('reads the raw storage of an encrypted client and finds no plaintext payload', async () => {
    const tenant = `at-rest-${process.pid}`;
    const path = join(dir, 'tablet.db');
    let online = true;
    const tabletFetch: typeof fetch = async (input, init) => {
      if (!online) throw new TypeError('fetch failed (offline)');
      return fetch(input, init);
    };
    const tabletToken = server.token('nurse', tenant);
    const open = (passphrase = encryption.passphrase) =>
      createSyncClient({
        url: server.url,
        getToken: () => tabletToken,
        storage: sqliteStorage(path),
        encryption: { ...encryption, passphrase },
        fetch: tabletFetch,
        realtime: false,
      });
    const tablet = open();
    const deskToken = server.token('clerk', tenant);
    const desk = createSyncClient({
      url: server.url,
      getToken: () => deskToken,
      storage: memoryStorage(),
      realtime: false,
    });

    const tabletPatients = tablet.collection<{ note: string }>('patient');
    const deskPatients = desk.collection<{ note: string }>('patient');
    const pushedId = await tabletPatients.create({ note: secrets.pushed });
    const pulledId = await deskPatients.create({ note: secrets.pulled });
    const sharedId = await deskPatients.create({ note: 'first visit' });
    await desk.syncNow();
    await tablet.syncNow();
    expect((await tabletPatients.get(pulledId))?.note).toBe(secrets.pulled);

    // Both edit the shared record; the desk's reaches the server first.
    await deskPatients.update(sharedId, { note: secrets.conflictTheirs });
    await tabletPatients.update(sharedId, { note: secrets.conflictMine });
    await desk.syncNow();
    await tablet.syncNow();
    const conflicts = await tablet.conflicts();
    expect(conflicts.length).toBeGreaterThan(0);

    online = false;
    const queuedId = await tabletPatients.create({ note: secrets.queued });
    expect(tablet.status.pending).toBeGreaterThan(0);
    await tablet.close();
    await desk.close();

    const raw = rawBytes(path);
    for (const secret of Object.values(secrets)) expect(raw).not.toContain(secret);
    for (const id of [pushedId, pulledId, sharedId, queuedId]) expect(raw).toContain(id);

    // The rows are there, as ciphertext.
    const db = new BetterSqlite3(path, { readonly: true });
    try {
      const count = (table: string) =>
        db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
      expect(count('entities')).toBeGreaterThanOrEqual(3);
      expect(count('outbox')).toBeGreaterThanOrEqual(1);
      expect(count('conflicts')).toBeGreaterThanOrEqual(1);
      const bodies = db
        .prepare(
          'SELECT body FROM entities WHERE body IS NOT NULL UNION ALL SELECT body FROM outbox WHERE body IS NOT NULL UNION ALL SELECT body FROM conflicts',
        )
        .pluck()
        .all() as string[];
      for (const body of bodies) expect(body).toMatch(/^enc1:/);
    } finally {
      db.close();
    }

    // A wrong passphrase is refused with a clear error; the right one finds everything.
    const intruder = open('guessed passphrase');
    await expect(intruder.ready()).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    await intruder.close().catch(() => undefined);

    const again = open();
    const notes = (await again.collection<{ note: string }>('patient').find()).map((p) => p.note);
    expect(notes).toEqual(expect.arrayContaining([secrets.pushed, secrets.pulled, secrets.queued]));
    expect((await again.conflicts()).length).toBe(conflicts.length);
    expect(again.status.pending).toBeGreaterThan(0);
    await again.close();
  });
});
