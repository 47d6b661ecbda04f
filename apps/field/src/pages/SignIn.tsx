// Sign-in with a user's access token; an optional passphrase encrypts the data kept on the device.
import { useId, useState, type FormEvent } from 'react';
import { Brand } from '../components/Brand.js';

export interface SignInRequest {
  token: string;
  /** '' for none. */
  passphrase: string;
}

export function SignIn({
  onSignIn,
  busy,
  error,
}: {
  onSignIn: (request: SignInRequest) => void;
  busy: boolean;
  error?: string | undefined;
}) {
  const [token, setToken] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const ids = { token: useId(), passphrase: useId(), hint: useId() };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSignIn({ token, passphrase });
  };
  return (
    <div className="sign-in">
      <form className="sign-in-card" onSubmit={submit}>
        <Brand />
        <h1>Sign in</h1>
        <p className="muted">
          Record attendance and inspect assets, with or without a connection. Everything you do is
          kept on this device and sent when a connection returns.
        </p>
        {error && (
          <p className="notice tone-bad" role="alert">
            {error}
          </p>
        )}
        <label htmlFor={ids.token}>Access token</label>
        <textarea
          id={ids.token}
          rows={4}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          required
        />
        <label htmlFor={ids.passphrase}>
          Passphrase <span className="muted">(optional)</span>
        </label>
        <input
          id={ids.passphrase}
          type="password"
          value={passphrase}
          onChange={(e) => setPassphrase(e.target.value)}
          autoComplete="new-password"
          aria-describedby={ids.hint}
        />
        <p id={ids.hint} className="small muted">
          With a passphrase, the data on this device is encrypted; you type it each time the app
          opens. It cannot be recovered if forgotten.
        </p>
        <button
          type="submit"
          className="button primary wide"
          disabled={busy || token.trim() === ''}
        >
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
