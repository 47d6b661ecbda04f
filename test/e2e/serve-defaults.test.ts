// `syncline serve` as a new user starts it: on loopback unless HOST says otherwise, and in
// production never on a development secret it made up itself.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { builtServerArgs } from '../support/build-if-stale.js';
import { freePort } from '../support/server-process.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

function serve(env: Record<string, string>) {
  const base = { ...process.env };
  for (const name of Object.keys(base))
    if (name.startsWith('SYNCLINE_') || name === 'HOST' || name === 'NODE_ENV') delete base[name];
  const child = spawn(process.execPath, builtServerArgs('serve'), {
    env: { ...base, SYNCLINE_LOG_LEVEL: 'warn', SYNCLINE_JOBS: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, exited, output: () => output };
}

/** The IPv4 addresses listening on `port`, from the kernel's socket table. */
async function listeners(port: number): Promise<string[]> {
  const table = await readFile('/proc/net/tcp', 'utf8');
  return table
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[3] === '0A' && Number.parseInt(cols[1]!.split(':')[1]!, 16) === port)
    .map((cols) => {
      const hex = cols[1]!.split(':')[0]!;
      return [3, 2, 1, 0].map((i) => Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
    });
}

it('listens on 127.0.0.1 only when HOST is not set', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'syncline-serve-'));
  dirs.push(dataDir);
  const port = await freePort();
  const server = serve({ PORT: String(port), SYNCLINE_DATA_DIR: dataDir });
  try {
    let answered = false;
    for (let i = 0; i < 300 && !answered; i++) {
      answered = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!answered) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answered, server.output()).toBe(true);
    expect(await listeners(port)).toEqual(['127.0.0.1']);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
}, 60_000);

it('refuses to start in production without a token key, and makes no development secret', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'syncline-serve-'));
  dirs.push(dataDir);
  const server = serve({
    PORT: String(await freePort()),
    SYNCLINE_DATA_DIR: dataDir,
    NODE_ENV: 'production',
  });
  expect(await server.exited).toBe(1);
  expect(server.output()).toContain(
    'NODE_ENV=production and no token key: set SYNCLINE_JWT_SECRET',
  );
  expect(existsSync(join(dataDir, 'jwt-secret'))).toBe(false);
}, 60_000);
