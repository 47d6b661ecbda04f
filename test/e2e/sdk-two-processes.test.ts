// Two Node processes on one SQLite file, each with its own SDK client, against the real server.
// Regression (the SQLite side of the two-tab loss): each process counted outbox positions in its
// own memory and overwrote the other's queued rows. Here both write offline, interleaved and at
// once, then sync at the same moment: the server holds each write exactly once, each write went
// out in exactly one push (one process syncs at a time, by a lease in the file), and each process
// shows the other's writes. A process killed while it syncs keeps the other out only until its
// lease runs out.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { HistoryEntry } from '@syncline/protocol';
import type { SyncSummary } from '../../packages/client/src/index.js';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getJson } from '../support/http.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

const childPath = fileURLToPath(new URL('../support/sdk-sqlite-child.ts', import.meta.url));
let server: ServerProcess;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  server = await startServer();
  dir = await mkdtemp(join(tmpdir(), 'syncline-two-processes-'));
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Note {
  id: string;
  text: string;
  by: string;
  seen?: string;
}

/** Starts a child process on `path` and returns a function that sends it a command. */
function startChild(path: string, token: string, leaseMs?: number) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', childPath, path, server.url, token, ...(leaseMs ? [String(leaseMs)] : [])],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const answer = JSON.parse(line) as { ref: number; value?: unknown; error?: string };
    const waiter = waiting.get(answer.ref);
    waiting.delete(answer.ref);
    if (answer.error !== undefined) waiter?.reject(new Error(answer.error));
    else waiter?.resolve(answer.value);
  });
  child.once('exit', (code, signal) => {
    for (const waiter of waiting.values()) {
      waiter.reject(new Error(`child exited (${code ?? signal}): ${stderr}`));
    }
  });
  let next = 0;
  const send = <T>(command: Record<string, unknown>): Promise<T> => {
    return new Promise<T>((resolve, reject) => {
      const ref = ++next;
      waiting.set(ref, { resolve: resolve as (v: unknown) => void, reject });
      child.stdin!.write(`${JSON.stringify({ ref, ...command })}\n`);
    });
  };
  return { child, send };
}

async function historyOf(tenant: string, ids: string[]): Promise<HistoryEntry[]> {
  const admin = server.token('boss', tenant, 'admin');
  const lists = await Promise.all(
    ids.map((id) =>
      getJson<{ history: HistoryEntry[] }>(
        `${server.url}/api/sync/entities/note/${id}/history`,
        admin,
      ),
    ),
  );
  return lists.flatMap(({ history }) => history);
}

describe('two processes on one SQLite file', () => {
  it('lose no offline write and send each exactly once when both sync at the same moment', async () => {
    const tenant = 'two-processes';
    const token = server.token('clerk', tenant);
    const path = join(dir, 'shared.db');
    const a = startChild(path, token);
    const b = startChild(path, token);
    expect(await b.send({ cmd: 'deviceId' })).toBe(await a.send({ cmd: 'deviceId' }));
    await Promise.all([a, b].map((p) => p.send({ cmd: 'network', value: 'offline' })));

    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await a.send<string>({ cmd: 'create', text: `a${i}`, by: 'a' }));
      ids.push(await b.send<string>({ cmd: 'create', text: `b${i}`, by: 'b' }));
    }
    const [burstA, burstB] = await Promise.all([
      a.send<string[]>({ cmd: 'createMany', texts: ['a3', 'a4', 'a5', 'a6'], by: 'a' }),
      b.send<string[]>({ cmd: 'createMany', texts: ['b3', 'b4', 'b5', 'b6'], by: 'b' }),
    ]);
    ids.push(...burstA, ...burstB);
    await Promise.all([
      a.send({ cmd: 'update', id: ids[1], patch: { seen: 'a' } }),
      b.send({ cmd: 'update', id: ids[0], patch: { seen: 'b' } }),
    ]);
    await b.send({ cmd: 'update', id: ids[1], patch: { text: 'b0 edited' } });
    await a.send({ cmd: 'remove', id: ids[3] });
    const writes = 14 + 3 + 1;
    const offline = await a.send<Note[]>({ cmd: 'find' });
    expect(offline).toHaveLength(13);
    expect(await b.send<Note[]>({ cmd: 'find' })).toEqual(offline);

    await Promise.all([a, b].map((p) => p.send({ cmd: 'network', value: 'online' })));
    const summaries = await Promise.all([
      a.send<SyncSummary>({ cmd: 'sync' }),
      b.send<SyncSummary>({ cmd: 'sync' }),
    ]);
    expect(summaries[0].pushed + summaries[1].pushed).toBe(writes);

    const pushed = [
      ...(await a.send<string[]>({ cmd: 'pushed' })),
      ...(await b.send<string[]>({ cmd: 'pushed' })),
    ];
    expect(pushed).toHaveLength(writes);
    expect(new Set(pushed).size).toBe(writes);
    const entries = await historyOf(tenant, ids);
    expect(entries).toHaveLength(writes);
    expect(new Set(entries.map((entry) => entry.mutationId))).toEqual(new Set(pushed));

    const [viewA, viewB] = await Promise.all([
      a.send<Note[]>({ cmd: 'find' }),
      b.send<Note[]>({ cmd: 'find' }),
    ]);
    expect(viewA).toHaveLength(13);
    expect(viewB).toEqual(viewA);
    expect(viewA.find((note) => note.id === ids[1])).toMatchObject({
      text: 'b0 edited',
      seen: 'a',
    });
    for (const p of [a, b]) {
      expect(await p.send({ cmd: 'status' })).toMatchObject({ pending: 0, failed: 0 });
    }
    for (const p of [a, b]) p.child.stdin!.end();
  });

  it('a process killed while it syncs keeps the other out only until its lease runs out', async () => {
    const tenant = 'killed-syncer';
    const token = server.token('clerk', tenant);
    const path = join(dir, 'killed.db');
    const leaseMs = 1_500;
    const a = startChild(path, token, leaseMs);
    const b = startChild(path, token, leaseMs);
    const id = await a.send<string>({ cmd: 'create', text: 'kept', by: 'a' });
    // B starts a sync whose request never answers, and is killed while it holds the lease.
    await b.send({ cmd: 'network', value: 'hang' });
    void b.send({ cmd: 'sync' }).catch(() => undefined);
    const lease = await vi.waitFor(() => {
      const file = new Database(path, { readonly: true });
      try {
        const row = file
          .prepare<[], { value: string }>(
            "SELECT value FROM meta WHERE key = 'syncline.store.lease.sync'",
          )
          .get();
        expect(row).toBeDefined();
        return JSON.parse(row!.value) as { expiresAt: number };
      } finally {
        file.close();
      }
    });
    const exited = new Promise((resolve) => b.child.once('exit', resolve));
    b.child.kill('SIGKILL');
    await exited;
    // A waits for the dead holder's lease to run out, then syncs; nothing was lost or doubled.
    const summary = await a.send<SyncSummary>({ cmd: 'sync' });
    expect(Date.now()).toBeGreaterThanOrEqual(lease.expiresAt);
    expect(summary).toMatchObject({ pushed: 1, failed: 0 });
    expect(await historyOf(tenant, [id])).toHaveLength(1);
    a.child.stdin!.end();
  });
});
