// The audit log: every administrative act (resolve, retry, revoke, restore, config change,
// cleanup, alerts), newest first, filterable by action and by who did it.
import { useEffect, useState } from 'react';
import { ApiError } from '../api.js';
import { useSession } from '../app-context.js';
import { Card, EmptyState, ErrorNotice, Loading, PageHeader } from '../components/ui.js';
import { compact, dateTime, humanize } from '../format.js';
import { useRouter } from '../router.js';
import type { AuditEntry } from '../types.js';

interface AuditPage {
  entries: AuditEntry[];
  actions: string[];
  nextBefore: number | null;
}

export function AuditPage() {
  const { api } = useSession();
  const { route, navigate } = useRouter();
  const action = route.query.get('action') ?? '';
  const actor = route.query.get('actor') ?? '';
  const [actorInput, setActorInput] = useState(actor);
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [actions, setActions] = useState<string[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError>();

  async function load(before?: number) {
    setLoading(true);
    setError(undefined);
    try {
      const page = await api.get<AuditPage>('/api/sync/admin/audit', {
        action,
        actor,
        before,
        limit: 50,
      });
      setEntries((current) => (before ? [...current, ...page.entries] : page.entries));
      setActions(page.actions);
      setNext(page.nextBefore);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, 'CLIENT', String(caught)));
    } finally {
      setLoading(false);
    }
  }

  useEffect(() => {
    void load();
  }, [api, action, actor]);

  const filter = (next: { action?: string; actor?: string }) => {
    const params = new URLSearchParams();
    const merged = { action, actor, ...next };
    if (merged.action) params.set('action', merged.action);
    if (merged.actor) params.set('actor', merged.actor);
    const query = params.toString();
    navigate(`audit${query ? `?${query}` : ''}`, { replace: true });
  };

  return (
    <>
      <PageHeader
        title="Audit log"
        description="Who did what: resolves, retries, revokes, restores, settings and clean-ups."
      />
      <Card>
        <form
          className="filters"
          onSubmit={(event) => {
            event.preventDefault();
            filter({ actor: actorInput.trim() });
          }}
        >
          <label>
            Action
            <select value={action} onChange={(event) => filter({ action: event.target.value })}>
              <option value="">All actions</option>
              {actions.map((a) => (
                <option key={a} value={a}>
                  {humanize(a)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Done by
            <input
              value={actorInput}
              placeholder="User id or system"
              onChange={(event) => setActorInput(event.target.value)}
            />
          </label>
          <div className="filter-actions">
            <button type="submit" className="button">
              Apply filters
            </button>
          </div>
        </form>
        <ErrorNotice error={error} title="The audit log could not be loaded" />
        {!loading && entries.length === 0 && !error ? (
          <EmptyState title="No entries">Administrative acts are recorded here.</EmptyState>
        ) : null}
        {entries.length > 0 ? (
          <table className="table responsive">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Done by</th>
                <th scope="col">Target</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id}>
                  <td data-label="When" className="nowrap">
                    {dateTime(e.createdAt)}
                  </td>
                  <td data-label="Action">
                    <strong>{humanize(e.action)}</strong>
                  </td>
                  <td data-label="Done by">{e.actor}</td>
                  <td data-label="Target" className="mono small">
                    {e.target ?? '—'}
                  </td>
                  <td data-label="Details" className="mono small details-cell">
                    {e.details ? compact(e.details, 120) : '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {loading ? <Loading /> : null}
        {next !== null && !loading ? (
          <div className="more">
            <button type="button" className="button" onClick={() => void load(next)}>
              Load older entries
            </button>
          </div>
        ) : null}
      </Card>
    </>
  );
}
