// The CLI's one-shot commands, run in-process through main(): migrate, token and doctor.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from './cli.js';
import { createTokenVerifier } from './http/auth.js';
import { testRedisUrl } from './testing/env.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'syncline-cli-'));
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

async function run(argv: string[], env: Record<string, string> = {}) {
  let text = '';
  const out = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  const code = await main(argv, { SYNCLINE_DATA_DIR: dataDir, ...env }, out);
  return { code, text };
}

describe('syncline migrate', () => {
  it('runs the migrations once, then finds the database up to date', async () => {
    expect(await run(['migrate'])).toMatchObject({
      code: 0,
      text: expect.stringMatching(/^Ran \d+ migration/),
    });
    expect(await run(['migrate'])).toEqual({ code: 0, text: 'The database is up to date.\n' });
  });
});

describe('syncline token', () => {
  it('mints a token the server verifies with the configured secret', async () => {
    const secret = 'a-configured-secret-of-at-least-32-bytes!';
    const { code, text } = await run(
      ['token', '--sub', 'u1', '--tenant', 't1', '--role', 'admin'],
      {
        SYNCLINE_JWT_SECRET: secret,
      },
    );
    expect(code).toBe(0);
    const actor = await createTokenVerifier({ secret }).verify(text.trim());
    expect(actor).toMatchObject({ userId: 'u1', tenant: 't1', role: 'admin' });
  });

  it('prints a dashboard sign-in link that carries the token in the fragment', async () => {
    const secret = 'a-configured-secret-of-at-least-32-bytes!';
    const env = { SYNCLINE_JWT_SECRET: secret, PORT: '4100' };
    const admin = ['token', '--sub', 'boss', '--tenant', 't1', '--role', 'admin', '--link'];
    const { code, text } = await run(admin, env);
    expect(code).toBe(0);
    const link = new URL(text.trim());
    expect(`${link.origin}${link.pathname}${link.search}`).toBe('http://localhost:4100/admin/');
    const token = /^#access_token=(.+)$/.exec(link.hash)?.[1] ?? '';
    const actor = await createTokenVerifier({ secret }).verify(token);
    expect(actor).toMatchObject({ userId: 'boss', tenant: 't1', role: 'admin' });

    const elsewhere = await run([...admin, '--url', 'https://sync.example.org/base'], env);
    expect(elsewhere.text).toMatch(/^https:\/\/sync\.example\.org\/base\/admin\/#access_token=/);
    expect((await run([...admin, '--url', 'ftp://x'], env)).code).toBe(1);
  });

  it('uses the data directory’s development secret when none is configured', async () => {
    const { code, text } = await run(['token', '--sub', 'u2', '--tenant', 't2']);
    expect(code).toBe(0);
    const secret = (await readFile(join(dataDir, 'jwt-secret'), 'utf8')).trim();
    const actor = await createTokenVerifier({ secret }).verify(text.trim());
    expect(actor).toMatchObject({ userId: 'u2', tenant: 't2', role: 'user' });
  });

  it('adds the claims access rules read (--claims), never over sub, tenant or role', async () => {
    const secret = 'a-configured-secret-of-at-least-32-bytes!';
    const claims = '{"facilities":["f1","f2"],"tenant":"evil"}';
    const { code, text } = await run(
      ['token', '--sub', 'u3', '--tenant', 't3', '--claims', claims],
      { SYNCLINE_JWT_SECRET: secret },
    );
    expect(code).toBe(0);
    const actor = await createTokenVerifier({ secret }).verify(text.trim());
    expect(actor).toMatchObject({
      userId: 'u3',
      tenant: 't3',
      claims: { facilities: ['f1', 'f2'] },
    });
    expect((await run(['token', '--sub', 'u', '--tenant', 't', '--claims', '[1]'])).code).toBe(1);
    expect((await run(['token', '--sub', 'u', '--tenant', 't', '--claims', '{'])).code).toBe(1);
  });

  it('refuses a token without a tenant or with an unknown role', async () => {
    expect((await run(['token', '--sub', 'u1'])).code).toBe(1);
    expect((await run(['token', '--sub', 'u1', '--tenant', 't', '--role', 'root'])).code).toBe(1);
  });
});

describe('syncline doctor', () => {
  it('passes every check on a sound setup', async () => {
    const { code, text } = await run(['doctor']);
    expect(code).toBe(0);
    expect(text).not.toContain('FAIL');
    expect(text).toMatch(/^ok {4}database: SQLite/m);
  });

  it('names what is wrong and exits 1', async () => {
    const config = join(dataDir, 'collections.json');
    await writeFile(config, '{ "collections": ');
    const { code, text } = await run(['doctor'], {
      SYNCLINE_CONFIG: config,
      SYNCLINE_DB_URL: 'postgres://nobody@127.0.0.1:1/none',
    });
    expect(code).toBe(1);
    expect(text).toMatch(/^FAIL {2}database: /m);
    expect(text).toMatch(/^FAIL {2}collections config: /m);
  });
});

describe('syncline serve and doctor: Redis and shutdown settings', () => {
  it('doctor reports an unreachable Redis and a bad drain delay', async () => {
    const { code, text } = await run(['doctor'], {
      SYNCLINE_REDIS_URL: 'redis://127.0.0.1:1',
      SYNCLINE_DRAIN_DELAY: 'soon',
    });
    expect(code).toBe(1);
    expect(text).toMatch(/^FAIL {2}redis: .*ECONNREFUSED/m);
    expect(text).toMatch(/^FAIL {2}shutdown: SYNCLINE_DRAIN_DELAY: /m);
  });

  it.skipIf(!testRedisUrl)('doctor finds the test Redis', async () => {
    const { text } = await run(['doctor'], { SYNCLINE_REDIS_URL: testRedisUrl as string });
    expect(text).toMatch(/^ok {4}redis: answers/m);
    expect(text).toMatch(/^ok {4}shutdown: drain delay 0 s, timeout 30 s/m);
  });

  it('doctor and serve refuse an upstream allow-list entry that is no host, address or CIDR', async () => {
    const env = { SYNCLINE_UPSTREAM_ALLOW: 'api.payme.example,10.0.0.0/33' };
    const doctor = await run(['doctor'], env);
    expect(doctor.code).toBe(1);
    expect(doctor.text).toMatch(
      /^FAIL {2}upstream: SYNCLINE_UPSTREAM_ALLOW: "10.0.0.0\/33" is not/m,
    );
    const errors: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      errors.push(String(chunk));
      return true;
    });
    try {
      const { code } = await run(['serve'], { ...env, PORT: '0', SYNCLINE_LOG_LEVEL: 'silent' });
      expect(code).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(errors.join('')).toMatch(/^syncline serve: SYNCLINE_UPSTREAM_ALLOW: "10.0.0.0\/33"/);
    const ok = await run(['doctor'], { SYNCLINE_UPSTREAM_ALLOW: '127.0.0.1:4000' });
    expect(ok.text).toMatch(/^ok {4}upstream: seed 003 replays reach only 127.0.0.1:4000;/m);
  });

  it('serve refuses an unreachable Redis with one line, before opening the store', async () => {
    const errors: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      errors.push(String(chunk));
      return true;
    });
    try {
      const { code } = await run(['serve'], {
        PORT: '0',
        SYNCLINE_LOG_LEVEL: 'silent',
        SYNCLINE_REDIS_URL: 'redis://127.0.0.1:1',
      });
      expect(code).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(errors.join('')).toMatch(/^syncline serve: SYNCLINE_REDIS_URL: .*ECONNREFUSED/);
  });
});

// Review: a misspelled key was cast, not checked: `"acess": "owner"` silently left the collection
// open to the whole tenant, and a misspelled strategy failed every batch at its first conflict.
describe('syncline serve and doctor: the collections config is checked', () => {
  async function writeConfig(config: object) {
    const path = join(dataDir, 'collections.json');
    await writeFile(path, JSON.stringify(config));
    return path;
  }

  it('doctor names each misspelled key and value by its path', async () => {
    const config = await writeConfig({
      collections: { visit: { acess: 'owner' }, note: { conflictStrategy: 'CLIENTWINS' } },
    });
    const { code, text } = await run(['doctor'], { SYNCLINE_CONFIG: config });
    expect(code).toBe(1);
    expect(text).toMatch(/^FAIL {2}collections config: .*collections\.visit\.acess: unknown key/m);
    expect(text).toContain('collections.note.conflictStrategy: must be one of SERVER_WINS');
  });

  it('serve refuses to start with such a config, in one line', async () => {
    const config = await writeConfig({ collections: { visit: { acess: 'owner' } } });
    const errors: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      errors.push(String(chunk));
      return true;
    });
    try {
      const { code } = await run(['serve'], {
        PORT: '0',
        SYNCLINE_LOG_LEVEL: 'silent',
        SYNCLINE_CONFIG: config,
      });
      expect(code).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(errors.join('')).toMatch(
      /^syncline serve: SYNCLINE_CONFIG .*: collections\.visit\.acess: unknown key\n$/,
    );
  });

  it('doctor accepts a sound config and reports the timeouts and stream caps', async () => {
    const config = await writeConfig({
      collections: { visit: { access: 'owner', conflictStrategy: 'MANUAL' } },
    });
    const { code, text } = await run(['doctor'], {
      SYNCLINE_CONFIG: config,
      SYNCLINE_BODY_TIMEOUT: '5s',
      SYNCLINE_STREAMS_PER_USER: '4',
    });
    expect(text).not.toContain('FAIL');
    expect(code).toBe(0);
    expect(text).toMatch(/^ok {4}timeouts: headers 10 s, body pause 5 s, request 120 s/m);
    expect(text).toMatch(/^ok {4}rate limits: .*streams 4 per user and 2000 per tenant/m);
  });

  it('doctor refuses bad timeout and cap settings', async () => {
    const { code, text } = await run(['doctor'], {
      SYNCLINE_HEADERS_TIMEOUT: '5m',
      SYNCLINE_STREAMS_PER_TENANT: '0',
    });
    expect(code).toBe(1);
    expect(text).toMatch(/^FAIL {2}timeouts: SYNCLINE_HEADERS_TIMEOUT must not be longer/m);
    expect(text).toMatch(/^FAIL {2}rate limits: SYNCLINE_STREAMS_PER_TENANT: "0"/m);
  });
});
