// A Node process that uses sqliteStorage is killed (SIGKILL) right after create() resolved. Started
// again on the same file, it still has the change pending, with the same device id, and syncs it
// to the real server exactly once.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullAll } from '../support/http.js';
import { startServer, type ServerProcess } from '../support/server-process.js';

const child = fileURLToPath(new URL('../support/sdk-crash-child.ts', import.meta.url));
let server: ServerProcess;
let dir: string;

beforeAll(async () => {
  server = await startServer();
  dir = await mkdtemp(join(tmpdir(), 'syncline-sdk-crash-'));
});

afterAll(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the child; resolves to its first stdout line, killing it then if `killOnLine`. */
function runChild(args: string[], killOnLine: boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let answer: Record<string, unknown> | undefined;
    proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const newline = out.indexOf('\n');
      if (newline < 0 || answer) return;
      answer = JSON.parse(out.slice(0, newline)) as Record<string, unknown>;
      if (killOnLine) proc.kill('SIGKILL');
    });
    proc.once('exit', (code, signal) => {
      if (answer && (killOnLine ? signal === 'SIGKILL' : code === 0)) resolve(answer);
      else reject(new Error(`child exited ${code ?? signal}: ${err}${out}`));
    });
  });
}

describe('a process killed right after create()', () => {
  it('finds the change still pending on restart, then syncs it once', async () => {
    const path = join(dir, 'client.db');
    const token = server.token('u1', 'sdk-crash');
    const written = await runChild(['write', path, server.url, token], true);
    const id = written.created as string;
    expect(typeof id).toBe('string');

    const restarted = await runChild(['sync', path, server.url, token], false);
    expect(restarted.before).toMatchObject({
      pending: 1,
      failed: 0,
      deviceId: written.deviceId,
      items: [{ id, name: 'Generator' }],
    });
    expect(restarted.summary).toMatchObject({ pushed: 1, failed: 0 });
    expect(restarted.after).toMatchObject({ pending: 0, failed: 0, state: 'idle' });

    const feed = await pullAll(server.url, server.token('admin', 'sdk-crash', 'admin'), 'check');
    const versions = feed.changes.filter((change) => change.entityId === id);
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ version: 1, payload: { name: 'Generator' } });
  });
});
