// Token verification: each key type accepted, every forged, expired or incomplete token refused,
// and algorithm confusion impossible because the algorithm is pinned per key type.
import { stat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../testing/test-app.js';
import { loadAuthKeys, readOrCreateSecret } from './auth-keys.js';
import { createTokenVerifier, mintToken } from './auth.js';
import { isSyncError } from '../engine/errors.js';

const secret = 'a-test-secret-that-is-at-least-32-bytes-long';
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

async function hs256(claims: JWTPayload, key: string = secret): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(key));
}

/** The protocol code a verification failure carries. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isSyncError(error)) return error.code;
    throw error;
  }
  throw new Error('the token was accepted');
}

describe('HS256', () => {
  const verifier = createTokenVerifier({ secret });

  it('accepts a valid token and builds the actor from its claims', async () => {
    const token = await hs256({ sub: 'u1', tenant: 't1', exp: inAnHour(), facilities: ['f1'] });
    const actor = await verifier.verify(token);
    expect(actor).toMatchObject({ tenant: 't1', userId: 'u1', role: 'user' });
    expect(actor.claims.facilities).toEqual(['f1']);
    expect(verifier.algorithms).toEqual(['HS256']);
  });

  it('reads role admin, and refuses any other role', async () => {
    expect(
      (
        await verifier.verify(
          await hs256({ sub: 'u', tenant: 't', role: 'admin', exp: inAnHour() }),
        )
      ).role,
    ).toBe('admin');
    expect(
      await refusal(
        verifier.verify(await hs256({ sub: 'u', tenant: 't', role: 'root', exp: inAnHour() })),
      ),
    ).toBe('UNAUTHENTICATED');
  });

  it('refuses a bad signature', async () => {
    const token = await hs256(
      { sub: 'u1', tenant: 't1', exp: inAnHour() },
      'another-secret-that-is-also-32-bytes-long',
    );
    expect(await refusal(verifier.verify(token))).toBe('UNAUTHENTICATED');
  });

  it('refuses alg none', async () => {
    const part = (value: object) => base64url.encode(JSON.stringify(value));
    const token = `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'u1', tenant: 't1', exp: inAnHour() })}.`;
    expect(await refusal(verifier.verify(token))).toBe('UNAUTHENTICATED');
  });

  it('answers TOKEN_EXPIRED for an expired token', async () => {
    const token = await hs256({ sub: 'u1', tenant: 't1', exp: Math.floor(Date.now() / 1000) - 60 });
    expect(await refusal(verifier.verify(token))).toBe('TOKEN_EXPIRED');
  });

  it('refuses a token without exp, sub or tenant', async () => {
    expect(await refusal(verifier.verify(await hs256({ sub: 'u1', tenant: 't1' })))).toBe(
      'UNAUTHENTICATED',
    );
    expect(await refusal(verifier.verify(await hs256({ tenant: 't1', exp: inAnHour() })))).toBe(
      'UNAUTHENTICATED',
    );
    expect(await refusal(verifier.verify(await hs256({ sub: 'u1', exp: inAnHour() })))).toBe(
      'UNAUTHENTICATED',
    );
    expect(
      await refusal(verifier.verify(await hs256({ sub: 'u1', tenant: 42, exp: inAnHour() }))),
    ).toBe('UNAUTHENTICATED');
    // A lone surrogate: no database column stores it as sent (PostgreSQL refuses it).
    expect(
      await refusal(
        verifier.verify(await hs256({ sub: 'u\ud800', tenant: 't1', exp: inAnHour() })),
      ),
    ).toBe('UNAUTHENTICATED');
    expect(
      (await verifier.verify(await hs256({ sub: 'u😀', tenant: 't1', exp: inAnHour() }))).userId,
    ).toBe('u😀');
  });

  it("checks a token's signature once, and its expiry again at every use", async () => {
    let now = new Date();
    const clocked = createTokenVerifier({ secret, now: () => now });
    const exp = Math.floor(now.getTime() / 1000) + 60;
    const token = await hs256({ sub: 'u1', tenant: 't1', exp });
    const signatureChecks = vi.spyOn(crypto.subtle, 'verify');
    try {
      expect((await clocked.verify(token)).userId).toBe('u1');
      expect((await clocked.verify(token)).userId).toBe('u1');
      expect(signatureChecks).toHaveBeenCalledTimes(1);
      now = new Date(exp * 1000);
      expect(await refusal(clocked.verify(token))).toBe('TOKEN_EXPIRED');
    } finally {
      signatureChecks.mockRestore();
    }
  });

  it('refuses an altered copy of a token it has accepted', async () => {
    const token = await hs256({ sub: 'u1', tenant: 't1', exp: inAnHour() });
    await verifier.verify(token);
    const [header, , signature] = token.split('.');
    const claims = base64url.encode(JSON.stringify({ sub: 'u2', tenant: 't1', exp: inAnHour() }));
    expect(await refusal(verifier.verify(`${header}.${claims}.${signature}`))).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('refuses secrets shorter than 32 bytes (RFC 7518 §3.2)', () => {
    expect(() => createTokenVerifier({ secret: 'short' })).toThrow(/32 bytes/);
  });

  it('mintToken makes tokens the verifier accepts, with extra claims that cannot override identity', async () => {
    const token = await mintToken({
      secret,
      sub: 'u9',
      tenant: 't9',
      role: 'admin',
      ttlSeconds: 60,
      extra: { facilities: ['a'], tenant: 'evil', sub: 'evil' },
    });
    const actor = await verifier.verify(token);
    expect(actor).toMatchObject({ tenant: 't9', userId: 'u9', role: 'admin' });
    expect(actor.claims.facilities).toEqual(['a']);
    const exp = actor.claims.exp as number;
    expect(exp - Date.now() / 1000).toBeGreaterThan(50);
    expect(exp - Date.now() / 1000).toBeLessThanOrEqual(60);
  });
});

describe('RS256 with a PEM public key', () => {
  it('accepts a token signed with the private key', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const verifier = createTokenVerifier({ publicKey: await exportSPKI(publicKey) });
    expect(verifier.algorithms).toEqual(['RS256']);
    const token = await new SignJWT({ sub: 'u1', tenant: 't1', exp: inAnHour() })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(privateKey);
    expect(await verifier.verify(token)).toMatchObject({ tenant: 't1', userId: 'u1' });
  });

  it('refuses an HS256 token whose HMAC key is the public key text (algorithm confusion)', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(publicKey);
    const verifier = createTokenVerifier({ publicKey: pem });
    const forged = await hs256({ sub: 'u1', tenant: 't1', role: 'admin', exp: inAnHour() }, pem);
    expect(await refusal(verifier.verify(forged))).toBe('UNAUTHENTICATED');
  });

  it('pins ES256 for an EC P-256 key and refuses an RS256 token', async () => {
    const ec = await generateKeyPair('ES256', { extractable: true });
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const verifier = createTokenVerifier({ publicKey: await exportSPKI(ec.publicKey) });
    expect(verifier.algorithms).toEqual(['ES256']);
    const rs = await new SignJWT({ sub: 'u1', tenant: 't1', exp: inAnHour() })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(rsa.privateKey);
    expect(await refusal(verifier.verify(rs))).toBe('UNAUTHENTICATED');
  });
});

describe('key sources', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'syncline-auth-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('ES256 via a JWKS file', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const file = join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify({ keys: [jwk] }));
    const keys = await loadAuthKeys({ jwksFile: file, dataDir: dir });
    expect(keys.source).toBe('jwks');
    const verifier = createTokenVerifier(keys.config);
    const token = await new SignJWT({ sub: 'u1', tenant: 't1', exp: inAnHour() })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(privateKey);
    expect(await verifier.verify(token)).toMatchObject({ tenant: 't1', userId: 'u1' });
    // An HS256 token is never checked against a JWKS, whatever key it names.
    expect(
      await refusal(verifier.verify(await hs256({ sub: 'u1', tenant: 't1', exp: inAnHour() }))),
    ).toBe('UNAUTHENTICATED');
  });

  it('reads a PEM public key from a file path or from its text', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(publicKey);
    const file = join(dir, 'public.pem');
    await writeFile(file, pem);
    expect((await loadAuthKeys({ publicKey: file, dataDir: dir })).config).toEqual({
      publicKey: pem,
    });
    expect((await loadAuthKeys({ publicKey: pem, dataDir: dir })).config).toEqual({
      publicKey: pem,
    });
  });

  it('refuses two key sources at once', async () => {
    await expect(loadAuthKeys({ secret, jwksFile: 'x.json', dataDir: dir })).rejects.toThrow(
      /only one/,
    );
  });

  it('creates the development secret once, mode 0600, and reuses it', async () => {
    const dataDir = join(dir, 'data');
    const first = await loadAuthKeys({ dataDir });
    expect(first).toMatchObject({ source: 'data-dir-secret', created: true });
    expect((await stat(first.secretFile!)).mode & 0o777).toBe(0o600);
    const second = await readOrCreateSecret(dataDir);
    expect(second).toMatchObject({ created: false, secret: first.secret });
    expect((await readFile(second.file, 'utf8')).trim()).toBe(first.secret);
    // The secret is long enough for HS256.
    expect(() => createTokenVerifier({ secret: first.secret! })).not.toThrow();
  });
});

describe('the auth hook', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const status = (authorization?: string) =>
    t.app.inject({
      method: 'GET',
      url: '/api/sync/status',
      headers: authorization ? { authorization } : {},
    });

  it('lets a valid bearer token through', async () => {
    const res = await status(`Bearer ${await t.token('u1', 't1')}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().userId).toBe('u1');
  });

  it('answers 401 with the error body and WWW-Authenticate for a missing or bad token', async () => {
    for (const authorization of [undefined, 'Basic dTE6cHc=', 'Bearer', 'Bearer not.a.jwt']) {
      const res = await status(authorization);
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.json()).toEqual({
        error: expect.objectContaining({ code: 'UNAUTHENTICATED', message: expect.any(String) }),
      });
    }
  });

  it('answers 401 TOKEN_EXPIRED for an expired token', async () => {
    const token = await hs256(
      { sub: 'u1', tenant: 't1', exp: Math.floor(Date.now() / 1000) - 5 },
      t.secret,
    );
    const res = await status(`Bearer ${token}`);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('TOKEN_EXPIRED');
  });

  it('answers 403 ADMIN_REQUIRED to a user on an admin route, and lets an admin in', async () => {
    const url = '/api/sync/entities/asset/nothing/history';
    const user = await t.app.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${await t.token('u', 't')}` },
    });
    expect(user.statusCode).toBe(403);
    expect(user.json().error.code).toBe('ADMIN_REQUIRED');
    const admin = await t.app.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${await t.token('a', 't', 'admin')}` },
    });
    // Past auth: the engine answers that the entity does not exist.
    expect(admin.statusCode).toBe(404);
  });

  it('cache invalidation is tenant-wide, so admins only; a bare POST is accepted', async () => {
    const url = '/api/sync/cache/invalidate';
    const user = await t.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${await t.token('u', 't')}` },
    });
    expect(user.statusCode).toBe(403);
    expect(user.json().error.code).toBe('ADMIN_REQUIRED');
    const admin = await t.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${await t.token('a', 't', 'admin')}` },
    });
    expect(admin.statusCode).toBe(200);
    expect(admin.json().epoch).toBeGreaterThan(0);
  });

  it('needs no token on /healthz, /readyz and /docs/json', async () => {
    for (const url of ['/healthz', '/readyz', '/docs/json']) {
      expect((await t.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
  });
});
