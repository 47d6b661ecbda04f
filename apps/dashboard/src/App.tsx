// The dashboard: sign-in, then the page the URL names.
import { useCallback, useMemo, useState } from 'react';
import { ApiError, createApi } from './api.js';
import { SessionContext, type Session } from './app-context.js';
import { Layout } from './components/layout.js';
import { EmptyState } from './components/ui.js';
import { AuditPage } from './pages/audit.js';
import { ConflictDetailPage } from './pages/conflict-detail.js';
import { ConflictsPage } from './pages/conflicts.js';
import { DeviceDetailPage } from './pages/device-detail.js';
import { DevicesPage } from './pages/devices.js';
import { EntitiesPage } from './pages/entities.js';
import { OverviewPage } from './pages/overview.js';
import { QueuesPage } from './pages/queues.js';
import { SettingsPage } from './pages/settings.js';
import { SignIn, type SignedIn } from './pages/sign-in.js';
import { Link, useRouter } from './router.js';
import { clearToken, saveToken } from './session.js';

function Page() {
  const { route } = useRouter();
  const [section, id] = route.segments;
  switch (section) {
    case undefined:
      return <OverviewPage />;
    case 'conflicts':
      return id ? <ConflictDetailPage id={id} /> : <ConflictsPage />;
    case 'devices':
      return id ? <DeviceDetailPage deviceId={id} /> : <DevicesPage />;
    case 'entities':
      return <EntitiesPage />;
    case 'queues':
      return <QueuesPage />;
    case 'audit':
      return <AuditPage />;
    case 'settings':
      return <SettingsPage />;
    default:
      return (
        <EmptyState title="There is no such page">
          <Link to="">Back to the overview</Link>
        </EmptyState>
      );
  }
}

export function App({
  initial,
  initialError,
}: {
  initial?: SignedIn | undefined;
  initialError?: string | undefined;
}) {
  const [signedIn, setSignedIn] = useState(initial);
  const [expired, setExpired] = useState<string>();

  const signOut = useCallback(() => {
    clearToken();
    setSignedIn(undefined);
  }, []);

  const session = useMemo<Session | null>(() => {
    if (!signedIn) return null;
    const api = createApi(signedIn.token, () => {
      clearToken();
      setExpired('Your session has ended (the token expired or was revoked). Sign in again.');
      setSignedIn(undefined);
    });
    return { api, tenant: signedIn.tenant, userId: signedIn.userId, signOut };
  }, [signedIn, signOut]);

  if (!session) {
    return (
      <SignIn
        initialError={expired ?? initialError}
        onSignedIn={(next) => {
          saveToken(next.token);
          setExpired(undefined);
          setSignedIn(next);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Layout>
        <Page />
      </Layout>
    </SessionContext.Provider>
  );
}

export { ApiError };
