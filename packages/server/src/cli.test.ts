// The CLI's one-shot commands, run in-process through main(): migrate, token and doctor.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from './cli.js';
import { createTokenVerifier } from './http/auth.js';

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

  it('uses the data directory’s development secret when none is configured', async () => {
    const { code, text } = await run(['token', '--sub', 'u2', '--tenant', 't2']);
    expect(code).toBe(0);
    const secret = (await readFile(join(dataDir, 'jwt-secret'), 'utf8')).trim();
    const actor = await createTokenVerifier({ secret }).verify(text.trim());
    expect(actor).toMatchObject({ userId: 'u2', tenant: 't2', role: 'user' });
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
