// Starts the reference server (bench/reference-server.ts) as a process of its own, as Syncline's
// server runs (test/support/server-process.ts), on 127.0.0.1 with a fresh data directory.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, mintHs256 } from '../test/support/server-process.js';

const serverPath = fileURLToPath(new URL('./reference-server.ts', import.meta.url));

export interface ReferenceProcess {
  readonly url: string;
  readonly pid: number;
  /** A bearer token for `tenant`, valid for an hour. */
  token(tenant: string): string;
  stop(): Promise<void>;
}

export async function startReference(): Promise<ReferenceProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'syncline-reference-'));
  const secret = randomBytes(32).toString('hex');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', serverPath], {
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, SECRET: secret },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8192)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the reference server exited:\n${output}`);
    const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the reference server did not answer /healthz in 30 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    pid: child.pid as number,
    token(tenant) {
      const now = Math.floor(Date.now() / 1000);
      return mintHs256(secret, { sub: 'bench', tenant, iat: now, exp: now + 3600 });
    },
    stop,
  };
}
