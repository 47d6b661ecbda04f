// Reads the claims of a user's access token on the device, to greet the user, name the local
// database and list the facilities. The signature is the server's to check: nothing here grants
// access, and a token the server refuses signs the user out of syncing (status `auth`).

export interface TokenClaims {
  sub: string;
  tenant: string;
  role: string;
  /** Seed 000: the facilities the user may record attendance at. */
  facilities: string[];
  /** Seconds since the epoch; null when the token has none. */
  exp: number | null;
}

export const tokenProblems = {
  MALFORMED: 'This is not an access token: it should be three parts separated by dots.',
  MISSING_CLAIMS: 'The token names no user or no organisation (sub and tenant claims).',
  EXPIRED: 'This token has expired. Ask for a new one.',
} as const;
export type TokenProblem = keyof typeof tokenProblems;

export class TokenError extends Error {
  override readonly name = 'TokenError';
  constructor(readonly code: TokenProblem) {
    super(tokenProblems[code]);
  }
}

function decodeSegment(segment: string): unknown {
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/');
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';

export interface ReadTokenOptions {
  now?: Date;
  /**
   * Reopening the app: the data on the device stays usable offline after the token expires; the
   * server refuses the token on the next sync and the app asks to sign in again.
   */
  allowExpired?: boolean;
}

/** The token's claims, or a TokenError saying what is wrong with it. */
export function readToken(token: string, options: ReadTokenOptions = {}): TokenClaims {
  const now = options.now ?? new Date();
  const parts = token.trim().split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]+$/.test(part))) {
    throw new TokenError('MALFORMED');
  }
  let claims: unknown;
  try {
    claims = decodeSegment(parts[1] as string);
  } catch {
    throw new TokenError('MALFORMED');
  }
  if (typeof claims !== 'object' || claims === null) throw new TokenError('MALFORMED');
  const { sub, tenant, role, facilities, exp } = claims as Record<string, unknown>;
  if (!isText(sub) || !isText(tenant)) throw new TokenError('MISSING_CLAIMS');
  const expiry = typeof exp === 'number' && Number.isFinite(exp) ? exp : null;
  if (!options.allowExpired && expiry !== null && expiry * 1000 <= now.getTime()) {
    throw new TokenError('EXPIRED');
  }
  return {
    sub,
    tenant,
    role: isText(role) ? role : 'user',
    facilities: Array.isArray(facilities) ? [...new Set(facilities.filter(isText))] : [],
    exp: expiry,
  };
}
