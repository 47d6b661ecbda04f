// Bearer-token auth: verifies JWTs (HS256 secret, RS256/ES256 PEM public key or JWKS) into an
// Actor, mints HS256 tokens for the CLI and tests, and the Fastify hook that guards every route.
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  createLocalJWKSet,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose';
import type { Actor } from '../engine/actor.js';
import { SyncError } from '../engine/errors.js';

/** Who may call a route: anyone, any verified user of a tenant, or only a tenant admin. */
export type RouteAuth = 'public' | 'user' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Defaults to 'user': a route is public only when it says so. */
    auth?: RouteAuth;
    /**
     * Also accept the token as `?access_token=` (streams: browsers' WebSocket and EventSource
     * cannot send headers). Keep such URLs out of logs (withoutAccessToken).
     */
    queryToken?: boolean;
  }
  interface FastifyRequest {
    /** The verified caller; null on public routes. */
    actor: Actor | null;
  }
}

export type TokenVerifierConfig = (
  | { secret: string | Uint8Array }
  /** PEM text (SPKI public key, certificate, or a private key whose public half is used) or a KeyObject. */
  | { publicKey: string | KeyObject }
  | { jwks: JSONWebKeySet }
) & {
  issuer?: string;
  audience?: string;
  /** Allowed clock skew for exp/nbf, in seconds (default 0). */
  clockToleranceSeconds?: number;
  /** The time tokens are judged at (default: the system clock); tests move it. */
  now?: () => Date;
};

export interface TokenVerifier {
  /** The only algorithms a token may be signed with: pinned per key type against alg confusion. */
  readonly algorithms: readonly string[];
  /** The Actor a valid token names; SyncError UNAUTHENTICATED or TOKEN_EXPIRED otherwise. */
  verify(token: string): Promise<Actor>;
}

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output. */
export const minSecretBytes = 32;

const encoder = new TextEncoder();

function secretBytes(secret: string | Uint8Array): Uint8Array {
  const bytes = typeof secret === 'string' ? encoder.encode(secret) : secret;
  if (bytes.length < minSecretBytes) {
    throw new Error(`The JWT secret must be at least ${minSecretBytes} bytes (RFC 7518 §3.2)`);
  }
  return bytes;
}

/** The single algorithm a public key verifies: RS256 for RSA, ES256 for EC P-256. */
function algorithmFor(key: KeyObject): string {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')
    return 'ES256';
  throw new Error(
    `Unsupported JWT public key (${key.asymmetricKeyType ?? 'unknown'}): use an RSA key (RS256) or an EC P-256 key (ES256)`,
  );
}

const maxClaimLength = 256;

/** A UTF-16 surrogate without its pair: text no database column can store as it is. */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function requiredString(payload: JWTPayload, claim: string): string {
  const value = payload[claim];
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > maxClaimLength ||
    loneSurrogate.test(value)
  ) {
    throw new SyncError(
      'UNAUTHENTICATED',
      `The token's "${claim}" claim must be a non-empty string of well-formed text`,
    );
  }
  return value;
}

export function actorFromClaims(payload: JWTPayload): Actor {
  const role = payload.role ?? 'user';
  if (role !== 'user' && role !== 'admin') {
    throw new SyncError('UNAUTHENTICATED', `The token's "role" claim must be "user" or "admin"`);
  }
  // Frozen: one verified token's actor serves each of its requests.
  return Object.freeze({
    tenant: requiredString(payload, 'tenant'),
    userId: requiredString(payload, 'sub'),
    role,
    claims: Object.freeze({ ...payload }),
  });
}

/** How many verified tokens are remembered (a few MB at most: tokens are short). */
const verifiedCacheSize = 10_000;

/**
 * Tokens already verified, by their exact text, with their expiry. A device sends the same token
 * with every request, and checking its signature is the costliest step of a small push. The text
 * includes the signature, so any other token (forged, re-signed, altered) is a miss and is checked
 * in full; a hit is checked against its `exp` again (nbf, already passed, stays passed).
 */
function createVerifiedCache() {
  const verified = new Map<string, { actor: Actor; exp: number }>();
  return {
    get(token: string, nowSeconds: number, toleranceSeconds: number): Actor | undefined {
      const hit = verified.get(token);
      if (!hit) return undefined;
      // jose's rule: expired when exp <= now - tolerance.
      if (hit.exp <= nowSeconds - toleranceSeconds) {
        verified.delete(token);
        return undefined;
      }
      return hit.actor;
    },
    remember(token: string, actor: Actor, exp: number) {
      if (verified.size >= verifiedCacheSize) {
        verified.delete(verified.keys().next().value as string);
      }
      verified.set(token, { actor, exp });
    },
  };
}

export function createTokenVerifier(config: TokenVerifierConfig): TokenVerifier {
  let key: Uint8Array | KeyObject | ReturnType<typeof createLocalJWKSet>;
  let algorithms: string[];
  if ('secret' in config) {
    key = secretBytes(config.secret);
    algorithms = ['HS256'];
  } else if ('publicKey' in config) {
    const publicKey =
      typeof config.publicKey === 'string' ? createPublicKey(config.publicKey) : config.publicKey;
    if (publicKey.type === 'secret')
      throw new Error('publicKey must be an asymmetric key; use `secret` for HS256');
    key = publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
    algorithms = [algorithmFor(key)];
  } else {
    // jose picks the JWKS key by kid and by the key type the alg needs; HS* are never allowed here.
    key = createLocalJWKSet(config.jwks);
    algorithms = ['RS256', 'ES256'];
  }
  const options: JWTVerifyOptions = {
    algorithms,
    requiredClaims: ['exp', 'sub'],
    ...(config.issuer !== undefined ? { issuer: config.issuer } : {}),
    ...(config.audience !== undefined ? { audience: config.audience } : {}),
    ...(config.clockToleranceSeconds !== undefined
      ? { clockTolerance: config.clockToleranceSeconds }
      : {}),
  };
  const now = config.now ?? (() => new Date());
  const tolerance = config.clockToleranceSeconds ?? 0;
  const cache = createVerifiedCache();
  return {
    algorithms,
    async verify(token) {
      const at = now();
      const known = cache.get(token, Math.floor(at.getTime() / 1000), tolerance);
      if (known) return known;
      let payload: JWTPayload;
      try {
        const checks = { ...options, currentDate: at };
        // The overloads differ only by key kind; both paths run the same checks.
        payload =
          typeof key === 'function'
            ? (await jwtVerify(token, key, checks)).payload
            : (await jwtVerify(token, key, checks)).payload;
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) throw new SyncError('TOKEN_EXPIRED');
        if (error instanceof joseErrors.JOSEError) {
          throw new SyncError('UNAUTHENTICATED', 'The bearer token is not valid', {
            reason: error.code,
          });
        }
        throw error;
      }
      const actor = actorFromClaims(payload);
      // exp is a required claim, so jose has checked it is a number.
      cache.remember(token, actor, payload.exp as number);
      return actor;
    },
  };
}

export interface MintTokenOptions {
  secret: string | Uint8Array;
  sub: string;
  tenant: string;
  role?: 'user' | 'admin';
  /** Lifetime in seconds (default one hour). */
  ttlSeconds?: number;
  /** More claims, e.g. `facilities`; they cannot override sub, tenant, role or exp. */
  extra?: Record<string, unknown>;
}

/** An HS256 token, as the CLI's `token` command and the tests need. */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  const ttl = options.ttlSeconds ?? 3600;
  if (!Number.isSafeInteger(ttl) || ttl <= 0)
    throw new Error('ttlSeconds must be a positive integer');
  return new SignJWT({ ...options.extra, tenant: options.tenant, role: options.role ?? 'user' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
    .sign(secretBytes(options.secret));
}

const bearerPattern = /^Bearer[ \t]+([A-Za-z0-9_.~+/=-]+)[ \t]*$/i;

export interface AuthPluginOptions {
  verifier: TokenVerifier;
}

/** Verifies the bearer token of every route not marked `config: { auth: 'public' }`. */
export const authPlugin = fp<AuthPluginOptions>(
  async (fastify, { verifier }) => {
    fastify.decorateRequest('actor', null);
    fastify.addHook('onRequest', async (request) => {
      // Unknown routes answer 404 whoever asks; health and docs routes are public.
      if (request.is404) return;
      const level = request.routeOptions.config.auth ?? 'user';
      if (level === 'public') return;
      const match = bearerPattern.exec(request.headers.authorization ?? queryBearer(request) ?? '');
      if (!match?.[1]) throw new SyncError('UNAUTHENTICATED', 'Send Authorization: Bearer <token>');
      request.actor = await verifier.verify(match[1]);
      if (level === 'admin' && request.actor.role !== 'admin')
        throw new SyncError('ADMIN_REQUIRED');
    });
  },
  { name: 'syncline-auth', fastify: '5.x' },
);

/** `Bearer <access_token>` from the query, on routes that allow it. */
function queryBearer(request: FastifyRequest): string | undefined {
  if (request.routeOptions.config.queryToken !== true) return undefined;
  const token = (request.query as { access_token?: unknown } | undefined)?.access_token;
  return typeof token === 'string' ? `Bearer ${token}` : undefined;
}

/** A request URL fit for logs: any access_token value replaced. */
export function withoutAccessToken(url: string): string {
  return url.replace(/([?&]access_token=)[^&#]*/gi, '$1[redacted]');
}

/** The verified caller of an authenticated route. */
export function actorOf(request: { actor: Actor | null }): Actor {
  if (!request.actor) throw new SyncError('UNAUTHENTICATED');
  return request.actor;
}
