// Sign-in with an admin's bearer token. The token is checked against an admin route before it is
// kept, so a user's token is refused here with the reason, not later on every page.
import { useState, type FormEvent } from 'react';
import { ApiError, createApi } from '../api.js';
import type { Overview } from '../types.js';

export interface SignedIn {
  token: string;
  tenant: string;
  userId: string;
}

export function describeSignInError(error: ApiError): string {
  if (error.code === 'ADMIN_REQUIRED' || error.status === 403) {
    return 'This token has no admin rights. The dashboard needs a token with the admin role for your tenant.';
  }
  if (error.code === 'TOKEN_EXPIRED')
    return 'This token has expired. Mint a new one and try again.';
  if (error.status === 401) return 'This token is not valid for this server.';
  return error.message;
}

/** Resolves to the signed-in admin, or throws the server's refusal. */
export async function verifyAdminToken(token: string): Promise<SignedIn> {
  const overview = await createApi(token).get<Overview>('/api/sync/admin/overview');
  return { token, tenant: overview.tenant, userId: overview.userId };
}

export function SignIn({
  initialError,
  onSignedIn,
}: {
  initialError?: string | undefined;
  onSignedIn(session: SignedIn): void;
}) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(initialError);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const value = token.trim().replace(/^Bearer\s+/i, '');
    if (!value) {
      setError('Paste an access token to sign in.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await verifyAdminToken(value));
    } catch (caught) {
      setError(
        caught instanceof ApiError ? describeSignInError(caught) : (caught as Error).message,
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="sign-in">
      <form className="sign-in-card" onSubmit={submit} noValidate>
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          Syncline
        </div>
        <h1>Sign in to the admin dashboard</h1>
        <p className="muted">
          Use an admin token for your tenant. On the server, print a sign-in link with{' '}
          <code>npm run syncline -- token --sub you --tenant t1 --role admin --link</code>
        </p>
        <label htmlFor="token">Access token</label>
        <textarea
          id="token"
          name="token"
          rows={4}
          value={token}
          spellCheck={false}
          autoComplete="off"
          placeholder="eyJhbGciOi…"
          onChange={(event) => setToken(event.target.value)}
          aria-describedby={error ? 'sign-in-error' : undefined}
        />
        {error ? (
          <div id="sign-in-error" className="notice tone-bad" role="alert">
            {error}
          </div>
        ) : null}
        <button type="submit" className="button primary wide" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p className="fine-print">
          The token stays in this browser tab and is forgotten when you close it.
        </p>
      </form>
    </main>
  );
}
