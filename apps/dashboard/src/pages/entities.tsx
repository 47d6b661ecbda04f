// Find an entity by type and id, read every version of it (who, when, from which device), and
// restore an old version: it comes back as a new version that every device pulls.
import { useState } from 'react';
import { ApiError } from '../api.js';
import { useSession } from '../app-context.js';
import {
  Badge,
  Card,
  ConfirmDialog,
  EmptyState,
  ErrorNotice,
  Loading,
  Notice,
  PageHeader,
} from '../components/ui.js';
import { compareVersions, showJson, type JsonRecord } from '../diff.js';
import { age, dateTime } from '../format.js';
import { Link, useRouter } from '../router.js';
import type { EntitySummary, HistoryEntry } from '../types.js';
import { useResource } from '../use-resource.js';

interface Search {
  entities: EntitySummary[];
  types: { entityType: string; count: number }[];
}

/** What a version changed against the one before it, field by field. */
function changedFields(entry: HistoryEntry, previous: HistoryEntry | undefined): string {
  if (entry.operation === 'DELETE' || entry.payload === null) return 'deleted';
  const rows = compareVersions(
    (previous?.payload ?? null) as JsonRecord | null,
    entry.payload as JsonRecord,
    null,
  ).filter((r) => r.serverChanged);
  if (rows.length === 0) return 'the same data as the version before';
  return rows.map((r) => `${r.field}: ${showJson(r.server) || '∅'}`).join(', ');
}

function History({
  entityType,
  entityId,
  onRestored,
}: {
  entityType: string;
  entityId: string;
  onRestored(): void;
}) {
  const { api } = useSession();
  const path = `/api/sync/entities/${encodeURIComponent(entityType)}/${encodeURIComponent(entityId)}`;
  const history = useResource(
    () => api.get<{ history: HistoryEntry[] }>(`${path}/history`),
    [api, path],
  );
  const [restoring, setRestoring] = useState<HistoryEntry>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState<string>();

  async function restore(entry: HistoryEntry) {
    setBusy(true);
    setError(undefined);
    try {
      const change = await api.post<{ version: number }>(`${path}/restore`, {
        version: entry.version,
      });
      setDone(`Version ${entry.version} was restored as version ${change.version}.`);
      setRestoring(undefined);
      await history.reload();
      onRestored();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, 'CLIENT', String(caught)));
    } finally {
      setBusy(false);
    }
  }

  const versions = history.data?.history ?? [];
  const latest = versions.at(-1)?.version;
  return (
    <Card title={`History of ${entityType} / ${entityId}`}>
      {done ? <Notice tone="good">{done}</Notice> : null}
      <ErrorNotice error={history.error} title="The history could not be loaded" />
      {history.loading && !history.data ? <Loading /> : null}
      {versions.length > 0 ? (
        <ol className="timeline">
          {[...versions].reverse().map((entry, index, list) => {
            const previous = list[index + 1];
            return (
              <li key={entry.version} className={entry.version === latest ? 'current' : undefined}>
                <div className="timeline-head">
                  <strong>Version {entry.version}</strong>{' '}
                  <Badge tone={entry.operation === 'DELETE' ? 'bad' : 'info'}>
                    {entry.operation.toLowerCase()}
                  </Badge>
                  {entry.version === latest ? <Badge tone="good">current</Badge> : null}
                  <span className="muted small">
                    {dateTime(entry.timestamp)} · by <strong>{entry.updatedBy}</strong>
                    {entry.deviceId === 'server' ? (
                      ' on the server'
                    ) : entry.deviceId ? (
                      <>
                        {' '}
                        from{' '}
                        <Link to={`devices/${encodeURIComponent(entry.deviceId)}`}>
                          {entry.deviceId}
                        </Link>
                      </>
                    ) : null}
                  </span>
                  {entry.version !== latest && entry.payload !== null ? (
                    <button
                      type="button"
                      className="button small"
                      aria-label={`Restore version ${entry.version}`}
                      onClick={() => setRestoring(entry)}
                    >
                      Restore
                    </button>
                  ) : null}
                </div>
                <div className="timeline-body">{changedFields(entry, previous)}</div>
                <details>
                  <summary>Payload</summary>
                  <pre>{JSON.stringify(entry.payload, null, 2)}</pre>
                </details>
              </li>
            );
          })}
        </ol>
      ) : null}
      {restoring ? (
        <ConfirmDialog
          title={`Restore version ${restoring.version}?`}
          confirmLabel="Restore version"
          busy={busy}
          onConfirm={() => void restore(restoring)}
          onCancel={() => setRestoring(undefined)}
        >
          <p>
            Its data comes back as version {(latest ?? 0) + 1}. Nothing is lost: the versions in
            between stay in the history.
          </p>
          <ErrorNotice error={error} title="The version could not be restored" />
        </ConfirmDialog>
      ) : null}
    </Card>
  );
}

export function EntitiesPage() {
  const { api } = useSession();
  const { route, navigate } = useRouter();
  const type = route.query.get('type') ?? '';
  const q = route.query.get('q') ?? '';
  const selected = route.query.get('id');
  const [typeInput, setTypeInput] = useState(type);
  const [idInput, setIdInput] = useState(q);
  const search = useResource(
    () => api.get<Search>('/api/sync/admin/entities', { entityType: type, q, limit: 50 }),
    [api, type, q],
  );

  const open = (next: { type?: string; q?: string; id?: string }) => {
    const params = new URLSearchParams();
    const merged = { type, q, ...next };
    if (merged.type) params.set('type', merged.type);
    if (merged.q) params.set('q', merged.q);
    if (merged.id) params.set('id', merged.id);
    navigate(`entities?${params.toString()}`, { replace: !next.id });
  };

  const entities = search.data?.entities ?? [];
  const selectedType = selected ? (route.query.get('type') ?? '') : '';
  return (
    <>
      <PageHeader
        title="Entities"
        description="Find a record and read every version of it; restore an old one as a new version."
      />
      <Card>
        <form
          className="filters"
          role="search"
          onSubmit={(event) => {
            event.preventDefault();
            open({ type: typeInput, q: idInput.trim(), id: '' });
          }}
        >
          <label>
            Entity type
            <select value={typeInput} onChange={(event) => setTypeInput(event.target.value)}>
              <option value="">All types</option>
              {(search.data?.types ?? []).map((t) => (
                <option key={t.entityType} value={t.entityType}>
                  {t.entityType} ({t.count})
                </option>
              ))}
            </select>
          </label>
          <label>
            Entity id
            <input
              value={idInput}
              placeholder="All or part of an id"
              onChange={(event) => setIdInput(event.target.value)}
            />
          </label>
          <div className="filter-actions">
            <button type="submit" className="button primary">
              Search
            </button>
          </div>
        </form>
        <ErrorNotice error={search.error} title="The search failed" />
        {search.loading && !search.data ? <Loading /> : null}
        {search.data && entities.length === 0 ? (
          <EmptyState title="No entity matches">Try another type or part of the id.</EmptyState>
        ) : null}
        {entities.length > 0 ? (
          <table className="table responsive">
            <thead>
              <tr>
                <th scope="col">Entity</th>
                <th scope="col">Version</th>
                <th scope="col">Last change</th>
                <th scope="col">By</th>
                <th scope="col">Device</th>
              </tr>
            </thead>
            <tbody>
              {entities.map((e) => {
                const isSelected = selected === e.entityId && selectedType === e.entityType;
                return (
                  <tr
                    key={`${e.entityType}/${e.entityId}`}
                    className={isSelected ? 'selected' : undefined}
                  >
                    <td data-label="Entity">
                      <button
                        type="button"
                        className="link-button strong"
                        aria-pressed={isSelected}
                        onClick={() => open({ type: e.entityType, id: e.entityId })}
                      >
                        {e.entityType} / {e.entityId}
                      </button>
                      {e.deletedAt ? (
                        <>
                          {' '}
                          <Badge tone="bad">deleted</Badge>
                        </>
                      ) : null}
                    </td>
                    <td data-label="Version">v{e.version}</td>
                    <td data-label="Last change" title={dateTime(e.updatedAt)}>
                      {age(e.updatedAt)}
                    </td>
                    <td data-label="By">{e.updatedBy}</td>
                    <td data-label="Device">{e.deviceId ?? '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
      </Card>
      {selected && selectedType ? (
        <History
          key={`${selectedType}/${selected}`}
          entityType={selectedType}
          entityId={selected}
          onRestored={() => void search.reload()}
        />
      ) : null}
    </>
  );
}
