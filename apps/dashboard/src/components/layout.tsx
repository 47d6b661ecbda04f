// The frame around every page: the navigation (a sidebar on wide screens, a scrolling bar on
// phones), who is signed in, and sign-out.
import { useEffect, useState, type ReactNode } from 'react';
import { useSession } from '../app-context.js';
import { Link, useRouter } from '../router.js';
import type { Overview } from '../types.js';

const sections = [
  { to: '', label: 'Overview' },
  { to: 'conflicts', label: 'Conflicts' },
  { to: 'devices', label: 'Devices' },
  { to: 'entities', label: 'Entities' },
  { to: 'queues', label: 'Queues' },
  { to: 'audit', label: 'Audit log' },
  { to: 'settings', label: 'Settings' },
] as const;

export function Layout({ children }: { children: ReactNode }) {
  const { api, tenant, userId, signOut } = useSession();
  const { route } = useRouter();
  const current = route.segments[0] ?? '';
  const [pending, setPending] = useState<number>();

  // The inbox count follows every navigation, so that a settled conflict leaves the badge too.
  useEffect(() => {
    let live = true;
    api
      .get<Overview>('/api/sync/admin/overview')
      .then((overview) => live && setPending(overview.pendingConflicts))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [api, route]);

  return (
    <div className="shell">
      <aside className="sidebar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Syncline
          <span className="brand-tag">admin</span>
        </div>
        <nav aria-label="Sections">
          <ul>
            {sections.map((section) => (
              <li key={section.to}>
                <Link
                  to={section.to}
                  className={current === section.to ? 'active' : undefined}
                  aria-current={current === section.to ? 'page' : undefined}
                >
                  {section.label}
                  {section.to === 'conflicts' && pending ? (
                    <span className="nav-count" aria-label={`${pending} pending`}>
                      {pending}
                    </span>
                  ) : null}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <div>
            <div className="who-user">{userId}</div>
            <div className="who-tenant">Tenant {tenant}</div>
          </div>
          <button type="button" className="button small" onClick={signOut}>
            Sign out
          </button>
        </div>
      </aside>
      <main className="content">{children}</main>
    </div>
  );
}
