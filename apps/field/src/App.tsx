// The app's frame: signed out (sign-in), locked (an encrypted session waiting for its passphrase)
// or open (the sync bar, the conflict notices and the two work screens).
import type { SyncClient } from '@syncline/client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { FieldContext } from './app-context.js';
import { startBackgroundSync } from './background-sync/page.js';
import { Brand } from './components/Brand.js';
import { ConflictNotices } from './components/ConflictNotices.js';
import { FailedChanges } from './components/FailedChanges.js';
import { SyncPanel } from './components/SyncPanel.js';
import { openClient, OpenError } from './open-client.js';
import { openToken, sealToken, WrongPassphraseError } from './sealed-token.js';
import { AssetsScreen } from './pages/AssetsScreen.js';
import { AttendanceScreen } from './pages/AttendanceScreen.js';
import { SignIn, type SignInRequest } from './pages/SignIn.js';
import { Unlock } from './pages/Unlock.js';
import { clearSession, loadSession, saveSession, type FieldSession } from './session.js';
import { readToken, TokenError, type TokenClaims } from './token.js';

type Phase =
  | { kind: 'loading' }
  | { kind: 'signed-out'; error?: string }
  | { kind: 'locked'; session: Extract<FieldSession, { encrypted: true }>; error?: string }
  | { kind: 'open'; client: SyncClient; claims: TokenClaims; deviceId: string; encrypted: boolean };

const screens = { attendance: 'Attendance', assets: 'Assets' } as const;
type Screen = keyof typeof screens;

const messageOf = (error: unknown) =>
  error instanceof TokenError || error instanceof OpenError || error instanceof WrongPassphraseError
    ? error.message
    : `Something went wrong: ${error instanceof Error ? error.message : String(error)}`;

export function App({
  registration,
}: {
  registration: Promise<ServiceWorkerRegistration | undefined>;
}) {
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const [busy, setBusy] = useState(false);
  const token = useRef('');

  const open = useCallback(
    async (accessToken: string, claims: TokenClaims, passphrase?: string) => {
      token.current = accessToken;
      const { client, deviceId } = await openClient({
        claims,
        passphrase,
        getToken: () => token.current,
      });
      client.start();
      setPhase({ kind: 'open', client, claims, deviceId, encrypted: passphrase !== undefined });
    },
    [],
  );

  // On opening: the stored session, if any (an encrypted one waits for its passphrase).
  useEffect(() => {
    let active = true;
    (async () => {
      const session = await loadSession();
      if (!active) return;
      if (!session) return setPhase({ kind: 'signed-out' });
      if (session.encrypted) return setPhase({ kind: 'locked', session });
      let claims: TokenClaims;
      try {
        claims = readToken(session.token, { allowExpired: true });
      } catch (error) {
        return setPhase({ kind: 'signed-out', error: messageOf(error) });
      }
      await open(session.token, claims);
    })().catch(
      (error: unknown) => active && setPhase({ kind: 'signed-out', error: messageOf(error) }),
    );
    return () => {
      active = false;
    };
  }, [open]);

  // Background Sync: the service worker sends what the outbox holds once a connection returns.
  // An encrypted store opens only in the page (the passphrase never leaves it): no worker sync.
  const client = phase.kind === 'open' && !phase.encrypted ? phase.client : undefined;
  const getToken = useCallback(() => token.current, []);
  useEffect(() => {
    if (!client) return undefined;
    let stop: (() => void) | undefined;
    let active = true;
    void registration.then((reg) => {
      if (reg && active) stop = startBackgroundSync(client, { registration: reg, getToken });
    });
    return () => {
      active = false;
      stop?.();
    };
  }, [client, registration, getToken]);

  const signIn = async ({ token: raw, passphrase }: SignInRequest) => {
    setBusy(true);
    try {
      const accessToken = raw.trim();
      const claims = readToken(accessToken);
      await open(accessToken, claims, passphrase || undefined);
      await saveSession(
        passphrase
          ? {
              encrypted: true,
              sealed: await sealToken(accessToken, passphrase),
              user: { sub: claims.sub, tenant: claims.tenant },
            }
          : { encrypted: false, token: accessToken },
      );
    } catch (error) {
      setPhase({ kind: 'signed-out', error: messageOf(error) });
    } finally {
      setBusy(false);
    }
  };

  const unlock = async (passphrase: string) => {
    if (phase.kind !== 'locked') return;
    setBusy(true);
    try {
      const accessToken = await openToken(phase.session.sealed, passphrase);
      await open(accessToken, readToken(accessToken, { allowExpired: true }), passphrase);
    } catch (error) {
      setPhase({ ...phase, error: messageOf(error) });
    } finally {
      setBusy(false);
    }
  };

  const signOut = async () => {
    if (phase.kind === 'open') {
      const { pending } = phase.client.status;
      if (
        pending > 0 &&
        !window.confirm(
          `${pending} change${pending === 1 ? '' : 's'} not yet sent will wait on this device until you sign in again. Sign out?`,
        )
      ) {
        return;
      }
      await phase.client.close();
    }
    await clearSession();
    token.current = '';
    setPhase({ kind: 'signed-out' });
  };

  if (phase.kind === 'loading') {
    return (
      <div className="splash" role="status">
        <Brand />
        <span className="muted">Opening…</span>
      </div>
    );
  }
  if (phase.kind === 'signed-out') {
    return <SignIn onSignIn={signIn} busy={busy} error={phase.error} />;
  }
  if (phase.kind === 'locked') {
    return (
      <Unlock
        user={phase.session.user}
        onUnlock={unlock}
        onSignOut={signOut}
        busy={busy}
        error={phase.error}
      />
    );
  }
  return (
    <FieldContext.Provider
      value={{ client: phase.client, claims: phase.claims, deviceId: phase.deviceId }}
    >
      <OpenApp onSignOut={signOut} />
    </FieldContext.Provider>
  );
}

function OpenApp({ onSignOut }: { onSignOut: () => void }) {
  // The screen is in the fragment, so that a reload (or the installed app's restart) stays on it.
  const [screen, setScreen] = useState<Screen>(() =>
    location.hash === '#assets' ? 'assets' : 'attendance',
  );
  const show = (key: Screen) => {
    setScreen(key);
    history.replaceState(null, '', `#${key}`);
  };
  return (
    <div className="app">
      <header className="topbar">
        <Brand />
        <UserMenu onSignOut={onSignOut} />
      </header>
      <SyncPanel onSignInAgain={onSignOut} />
      <nav className="screens" aria-label="Screens">
        {(Object.keys(screens) as Screen[]).map((key) => (
          <button
            key={key}
            type="button"
            className={`screen-tab${screen === key ? ' active' : ''}`}
            aria-current={screen === key ? 'page' : undefined}
            onClick={() => show(key)}
          >
            {screens[key]}
          </button>
        ))}
      </nav>
      <main className="content">
        <ConflictNotices />
        <FailedChanges />
        {screen === 'attendance' ? <AttendanceScreen /> : <AssetsScreen />}
      </main>
    </div>
  );
}

function UserMenu({ onSignOut }: { onSignOut: () => void }) {
  return (
    <FieldContext.Consumer>
      {(field) => (
        <div className="who">
          <span className="who-user">{field?.claims.sub}</span>
          <span className="who-tenant muted">{field?.claims.tenant}</span>
          <button type="button" className="button ghost small" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      )}
    </FieldContext.Consumer>
  );
}
