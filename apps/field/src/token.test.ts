import { describe, expect, it } from 'vitest';
import { readToken, TokenError } from './token.js';

const segment = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const tokenWith = (claims: unknown) => `${segment({ alg: 'HS256' })}.${segment(claims)}.c2ln`;
const now = new Date('2026-03-01T08:00:00Z');
const inAnHour = now.getTime() / 1000 + 3600;

const problemOf = (token: string) => {
  try {
    readToken(token, { now });
    return null;
  } catch (error) {
    return error instanceof TokenError ? error.code : 'not a TokenError';
  }
};

describe('readToken', () => {
  it('reads the user, the tenant, the role and the facilities', () => {
    const claims = readToken(
      tokenWith({ sub: 'amina', tenant: 't1', facilities: ['f1', 'f2', 'f1', 7], exp: inAnHour }),
      { now },
    );
    expect(claims).toEqual({
      sub: 'amina',
      tenant: 't1',
      role: 'user',
      facilities: ['f1', 'f2'],
      exp: inAnHour,
    });
  });

  it('refuses what is not a JWT, a token without sub or tenant, and an expired token', () => {
    expect(problemOf('')).toBe('MALFORMED');
    expect(problemOf('one.two')).toBe('MALFORMED');
    expect(problemOf('a.b c.d')).toBe('MALFORMED');
    expect(problemOf(`${segment({})}.bm90IGpzb24.c2ln`)).toBe('MALFORMED');
    expect(problemOf(tokenWith(['an', 'array']))).toBe('MISSING_CLAIMS');
    expect(problemOf(tokenWith({ sub: 'amina' }))).toBe('MISSING_CLAIMS');
    expect(problemOf(tokenWith({ sub: '', tenant: 't1' }))).toBe('MISSING_CLAIMS');
    expect(problemOf(tokenWith({ sub: 'a', tenant: 't1', exp: now.getTime() / 1000 }))).toBe(
      'EXPIRED',
    );
    expect(problemOf(tokenWith({ sub: 'a', tenant: 't1' }))).toBeNull();
  });

  it('reads an expired token when the app reopens, so that offline data stays usable', () => {
    const expired = tokenWith({ sub: 'a', tenant: 't1', exp: now.getTime() / 1000 - 60 });
    expect(readToken(expired, { now, allowExpired: true }).sub).toBe('a');
    expect(() => readToken(tokenWith({ tenant: 't1' }), { now, allowExpired: true })).toThrow(
      TokenError,
    );
  });
});
