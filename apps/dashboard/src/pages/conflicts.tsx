// The conflict inbox: changes waiting for a person (PENDING_REVIEW), filterable by entity type,
// user and device; resolved conflicts stay browsable with their outcome.
import { useState } from 'react';
import { useSession } from '../app-context.js';
import {
  Badge,
  Card,
  EmptyState,
  ErrorNotice,
  Loading,
  Notice,
  PageHeader,
} from '../components/ui.js';
import { takeFlash } from '../flash.js';
import { age, dateTime, humanize } from '../format.js';
import { Link, useRouter } from '../router.js';
import type { AdminConflict } from '../types.js';
import { useResource } from '../use-resource.js';

export const resolutionLabel: Record<string, string> = {
  SERVER_WINS: 'Kept server',
  CLIENT_WINS: 'Kept device',
  MERGE: 'Merged',
  MANUAL: 'Settled by hand',
  LAST_WRITE_WINS: 'Latest edit kept',
};

export function ConflictsPage() {
  const { api } = useSession();
  const { route, navigate } = useRouter();
  const status = route.query.get('status') === 'RESOLVED' ? 'RESOLVED' : 'PENDING_REVIEW';
  const [flash] = useState(takeFlash);
  const [entityType, setEntityType] = useState(route.query.get('entityType') ?? '');
  const [userId, setUserId] = useState(route.query.get('userId') ?? '');
  const [deviceId, setDeviceId] = useState(route.query.get('deviceId') ?? '');
  const applied = {
    entityType: route.query.get('entityType') ?? '',
    userId: route.query.get('userId') ?? '',
    deviceId: route.query.get('deviceId') ?? '',
  };
  const list = useResource(
    () =>
      api.get<{ conflicts: AdminConflict[] }>('/api/sync/admin/conflicts', { status, ...applied }),
    [api, status, applied.entityType, applied.userId, applied.deviceId],
  );
  const types = useResource(
    () => api.get<{ types: { entityType: string }[] }>('/api/sync/admin/entities', { limit: 1 }),
    [api],
  );

  const go = (next: Record<string, string>) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries({ status, ...applied, ...next })) {
      if (value && !(key === 'status' && value === 'PENDING_REVIEW')) params.set(key, value);
    }
    const query = params.toString();
    navigate(`conflicts${query ? `?${query}` : ''}`, { replace: true });
  };

  const conflicts = list.data?.conflicts ?? [];
  return (
    <>
      <PageHeader
        title="Conflicts"
        description="Changes that could not be settled by rule wait here for a person."
      />
      {flash ? <Notice tone="good">{flash}</Notice> : null}
      <div className="tabs" role="tablist" aria-label="Conflict status">
        <button
          type="button"
          role="tab"
          aria-selected={status === 'PENDING_REVIEW'}
          onClick={() => go({ status: 'PENDING_REVIEW' })}
        >
          Waiting for review
        </button>
        <button
          type="button"
          role="tab"
          aria-selected={status === 'RESOLVED'}
          onClick={() => go({ status: 'RESOLVED' })}
        >
          Resolved
        </button>
      </div>
      <Card>
        <form
          className="filters"
          onSubmit={(event) => {
            event.preventDefault();
            go({ entityType, userId: userId.trim(), deviceId: deviceId.trim() });
          }}
        >
          <label>
            Entity type
            <select value={entityType} onChange={(event) => setEntityType(event.target.value)}>
              <option value="">All types</option>
              {(types.data?.types ?? []).map((t) => (
                <option key={t.entityType} value={t.entityType}>
                  {t.entityType}
                </option>
              ))}
            </select>
          </label>
          <label>
            User
            <input value={userId} onChange={(event) => setUserId(event.target.value)} />
          </label>
          <label>
            Device
            <input value={deviceId} onChange={(event) => setDeviceId(event.target.value)} />
          </label>
          <div className="filter-actions">
            <button type="submit" className="button">
              Apply filters
            </button>
            {applied.entityType || applied.userId || applied.deviceId ? (
              <button
                type="button"
                className="button ghost"
                onClick={() => {
                  setEntityType('');
                  setUserId('');
                  setDeviceId('');
                  go({ entityType: '', userId: '', deviceId: '' });
                }}
              >
                Clear
              </button>
            ) : null}
          </div>
        </form>
        <ErrorNotice error={list.error} title="The conflicts could not be loaded" />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data && conflicts.length === 0 ? (
          <EmptyState
            title={
              status === 'PENDING_REVIEW' ? 'Nothing waits for review' : 'No resolved conflicts'
            }
          >
            {status === 'PENDING_REVIEW'
              ? 'Every conflict was settled by its rule or by a person.'
              : 'Conflicts settled by a person or a rule appear here.'}
          </EmptyState>
        ) : null}
        {conflicts.length > 0 ? (
          <table className="table responsive">
            <thead>
              <tr>
                <th scope="col">Entity</th>
                <th scope="col">Conflict</th>
                <th scope="col">User</th>
                <th scope="col">Device</th>
                <th scope="col">Versions</th>
                <th scope="col">{status === 'RESOLVED' ? 'Outcome' : 'Age'}</th>
              </tr>
            </thead>
            <tbody>
              {conflicts.map((c) => (
                <tr key={c.id}>
                  <td data-label="Entity">
                    <Link to={`conflicts/${encodeURIComponent(c.id)}`} className="strong">
                      {c.entityType} / {c.entityId}
                    </Link>
                  </td>
                  <td data-label="Conflict">
                    <Badge tone="warn">{humanize(c.type)}</Badge>
                  </td>
                  <td data-label="User">{c.userId}</td>
                  <td data-label="Device">{c.deviceId ?? '—'}</td>
                  <td data-label="Versions" className="nowrap">
                    device v{c.clientVersion} · server v{c.serverVersion}
                  </td>
                  <td data-label={status === 'RESOLVED' ? 'Outcome' : 'Age'}>
                    {status === 'RESOLVED' ? (
                      <span>
                        {resolutionLabel[c.resolution ?? ''] ?? c.resolution}{' '}
                        <span className="muted small">
                          by {c.resolvedBy} · {dateTime(c.resolvedAt)}
                        </span>
                      </span>
                    ) : (
                      <span title={dateTime(c.createdAt)}>{age(c.createdAt)}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Card>
    </>
  );
}
