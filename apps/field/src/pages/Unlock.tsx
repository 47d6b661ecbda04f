// An encrypted session on opening: the passphrase opens the device's data again.
import { useId, useState, type FormEvent } from 'react';
import { Brand } from '../components/Brand.js';

export function Unlock({
  user,
  onUnlock,
  onSignOut,
  busy,
  error,
}: {
  user: { sub: string; tenant: string };
  onUnlock: (passphrase: string) => void;
  onSignOut: () => void;
  busy: boolean;
  error?: string | undefined;
}) {
  const [passphrase, setPassphrase] = useState('');
  const id = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onUnlock(passphrase);
  };
  return (
    <div className="sign-in">
      <form className="sign-in-card" onSubmit={submit}>
        <Brand />
        <h1>Unlock</h1>
        <p className="muted">
          The data on this device is encrypted. Signed in as <strong>{user.sub}</strong> (
          {user.tenant}).
        </p>
        {error && (
          <p className="notice tone-bad" role="alert">
            {error}
          </p>
        )}
        <label htmlFor={id}>Passphrase</label>
        <input
          id={id}
          type="password"
          value={passphrase}
          onChange={(e) => setPassphrase(e.target.value)}
          autoComplete="current-password"
          required
        />
        <button type="submit" className="button primary wide" disabled={busy || passphrase === ''}>
          {busy ? 'Unlocking…' : 'Unlock'}
        </button>
        <button type="button" className="button ghost wide" onClick={onSignOut}>
          Sign out
        </button>
      </form>
    </div>
  );
}
