// Starts the real server process (`syncline serve`) on 127.0.0.1 as a user would, for end-to-end
// tests: its JavaScript build as in production, a fresh data directory, a known JWT secret, and
// helpers to mint tokens, kill and restart.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtServerArgs, repoRoot } from './build-if-stale.js';

export interface StartServerOptions {
  /** Extra environment for the server process (e.g. SYNCLINE_DB_URL). */
  env?: Record<string, string>;
  /** Reuse a data directory; otherwise a fresh temporary one is created and removed on stop(). */
  dataDir?: string;
  /**
   * `serve` (default) runs the built CLI with node; `npm start` runs it as a user does, through
   * npm and its prestart step (which builds the server and the web apps when stale).
   */
  command?: 'serve' | 'npm start';
  /** How long to wait for /healthz (default 30 s). */
  startTimeoutMs?: number;
}

export interface ServerProcess {
  readonly url: string;
  readonly dataDir: string;
  readonly secret: string;
  /** The running process's id (for tests that read its memory in /proc). */
  readonly pid: number;
  /** Mints an HS256 bearer token valid for an hour. */
  token(
    sub: string,
    tenant: string,
    role?: 'user' | 'admin',
    claims?: Record<string, unknown>,
  ): string;
  /** Sends a signal and waits for the process to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops the process (SIGTERM) and removes the data directory if this helper created it. */
  stop(): Promise<void>;
  /** The process's recent stdout and stderr, for failure messages. */
  output(): string;
}

/** A free TCP port on 127.0.0.1: the server takes PORT from its environment and has no port 0. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

const base64url = (value: Buffer | string) => Buffer.from(value).toString('base64url');

export function mintHs256(secret: string, claims: Record<string, unknown>): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${signature}`;
}

const OUTPUT_LIMIT = 64 * 1024;

export async function startServer(options: StartServerOptions = {}): Promise<ServerProcess> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'syncline-e2e-')));
  const secret = randomBytes(32).toString('hex');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';
  let signal: (name: NodeJS.Signals) => void = () => undefined;

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    SYNCLINE_DATA_DIR: dataDir,
    SYNCLINE_JWT_SECRET: secret,
    SYNCLINE_PUSH_LIMIT: '1000000/1m',
    SYNCLINE_PULL_LIMIT: '1000000/1m',
    SYNCLINE_ADMIN_LIMIT: '1000000/1m',
    SYNCLINE_LOG_LEVEL: 'warn',
    ...options.env,
  };
  // The suite's own database URLs must not leak into the server unless a test passes them.
  if (!options.env?.SYNCLINE_DB_URL) delete env.SYNCLINE_DB_URL;

  const launch = async () => {
    output = '';
    const viaNpm = options.command === 'npm start';
    // npm runs the server as a grandchild: it gets its own process group, signalled as a whole.
    const proc = viaNpm
      ? spawn('npm', ['start', '--silent'], {
          cwd: repoRoot,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        })
      : spawn(process.execPath, builtServerArgs('serve'), {
          cwd: repoRoot,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
    signal = (name) => {
      try {
        if (viaNpm && proc.pid !== undefined) process.kill(-proc.pid, name);
        else proc.kill(name);
      } catch {
        // Already gone.
      }
    };
    child = proc;
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    let exitCode: number | null | undefined;
    proc.once('exit', (code, killedBy) => {
      exitCode = code ?? (killedBy ? -1 : null);
    });

    const startTimeoutMs = options.startTimeoutMs ?? 30_000;
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      if (exitCode !== undefined) {
        throw new Error(`server exited (${exitCode}) before answering /healthz:\n${output}`);
      }
      try {
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    signal('SIGKILL');
    throw new Error(`server did not answer /healthz within ${startTimeoutMs / 1000} s:\n${output}`);
  };

  const kill = async (name: NodeJS.Signals) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    signal(name);
    await exited;
  };

  await launch();

  return {
    url,
    dataDir,
    secret,
    get pid() {
      if (child?.pid === undefined) throw new Error('the server is not running');
      return child.pid;
    },
    token(sub, tenant, role = 'user', claims = {}) {
      const now = Math.floor(Date.now() / 1000);
      return mintHs256(secret, { sub, tenant, role, iat: now, exp: now + 3600, ...claims });
    },
    kill,
    async restart() {
      await kill('SIGTERM');
      await launch();
    },
    async stop() {
      const proc = child;
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        signal('SIGTERM');
        const timer = setTimeout(() => signal('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
    output: () => output,
  };
}
