// Where the token key comes from: an HS256 secret, a PEM public key (file or text), a JWKS file,
// or else a development secret kept in the data directory (created once, mode 0600).
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import type { TokenVerifierConfig } from './auth.js';

export interface AuthKeySources {
  /** SYNCLINE_JWT_SECRET */
  secret?: string | undefined;
  /** SYNCLINE_JWT_PUBLIC_KEY: PEM text, or the path of a PEM file. */
  publicKey?: string | undefined;
  /** SYNCLINE_JWKS_FILE */
  jwksFile?: string | undefined;
  /** Where the development secret lives when none of the above is set. */
  dataDir: string;
  /** NODE_ENV=production: no development secret; a key must be configured. */
  production?: boolean;
}

export type AuthKeySource = 'secret' | 'public-key' | 'jwks' | 'data-dir-secret';

export interface LoadedAuthKeys {
  config: TokenVerifierConfig;
  source: AuthKeySource;
  /** The HS256 secret, when there is one (the `token` command needs it). */
  secret?: string;
  /** The development secret's file, and whether this call created it. */
  secretFile?: string;
  created?: boolean;
}

export const secretFileName = 'jwt-secret';

const isPemText = (value: string) => value.includes('-----BEGIN ');

/** Reads the data directory's secret, creating it (0600) on first use. */
export async function readOrCreateSecret(
  dataDir: string,
): Promise<{ secret: string; file: string; created: boolean }> {
  const file = join(dataDir, secretFileName);
  try {
    return { secret: (await readFile(file, 'utf8')).trim(), file, created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  try {
    // 'wx': if another process created it meanwhile, use theirs rather than overwrite it.
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readOrCreateSecret(dataDir);
    throw error;
  }
  // The umask may have widened the mode on creation.
  await chmod(file, 0o600);
  return { secret, file, created: true };
}

/** Whether a secret file is readable by group or others (doctor warns). */
export async function secretFileTooOpen(file: string): Promise<boolean> {
  return ((await stat(file)).mode & 0o077) !== 0;
}

/** One key source, in the order DESIGN.md gives: secret, public key, JWKS file, development secret. */
export async function loadAuthKeys(sources: AuthKeySources): Promise<LoadedAuthKeys> {
  const given = [sources.secret, sources.publicKey, sources.jwksFile].filter(
    (v) => v !== undefined && v !== '',
  );
  if (given.length > 1) {
    throw new Error(
      'Set only one of SYNCLINE_JWT_SECRET, SYNCLINE_JWT_PUBLIC_KEY and SYNCLINE_JWKS_FILE',
    );
  }
  if (sources.secret)
    return { config: { secret: sources.secret }, source: 'secret', secret: sources.secret };
  if (sources.publicKey) {
    const pem = isPemText(sources.publicKey)
      ? sources.publicKey
      : await readFile(sources.publicKey, 'utf8');
    return { config: { publicKey: pem }, source: 'public-key' };
  }
  if (sources.jwksFile) {
    const jwks = JSON.parse(await readFile(sources.jwksFile, 'utf8')) as JSONWebKeySet;
    if (!Array.isArray(jwks?.keys))
      throw new Error(`${sources.jwksFile} is not a JWKS ({ "keys": [...] })`);
    return { config: { jwks }, source: 'jwks' };
  }
  if (sources.production) {
    throw new Error(
      'NODE_ENV=production and no token key: set SYNCLINE_JWT_SECRET, SYNCLINE_JWT_PUBLIC_KEY or ' +
        'SYNCLINE_JWKS_FILE (the development secret in the data directory is for development only)',
    );
  }
  const { secret, file, created } = await readOrCreateSecret(sources.dataDir);
  return { config: { secret }, source: 'data-dir-secret', secret, secretFile: file, created };
}
