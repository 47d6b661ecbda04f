// The queues a person may need to nudge: the server-side sync queue (seed 001: pending, failed
// and conflicting changes, with retry) and the requests replayed against the business's own API
// (seed 003: pending, failed and conflicting operations, with retry and each one's attempts).
import { useState } from 'react';
import { ApiError } from '../api.js';
import { useSession } from '../app-context.js';
import {
  Badge,
  Card,
  EmptyState,
  ErrorNotice,
  Loading,
  Notice,
  PageHeader,
  type Tone,
} from '../components/ui.js';
import { age, compact, dateTime } from '../format.js';
import { Link, useRouter } from '../router.js';
import type { OfflineAttempt, OfflineOperation, QueuedMutation } from '../types.js';
import { useResource } from '../use-resource.js';

const statusTone: Record<string, Tone> = {
  PENDING: 'info',
  pending: 'info',
  SYNCING: 'info',
  syncing: 'info',
  FAILED: 'bad',
  failed: 'bad',
  CONFLICT: 'warn',
  conflict: 'warn',
  SYNCED: 'good',
  synced: 'good',
};

function useAction() {
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState<string>();
  async function run(key: string, action: () => Promise<string>) {
    setBusy(key);
    setError(undefined);
    setDone(undefined);
    try {
      setDone(await action());
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, 'CLIENT', String(caught)));
    } finally {
      setBusy(undefined);
    }
  }
  return { busy, error, done, run };
}

function StatusFilter<T extends string>({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: T;
  options: readonly { value: T; label: string }[];
  onChange(value: T): void;
}) {
  return (
    <div className="segmented" role="group" aria-label={label}>
      {options.map((o) => (
        <button
          key={o.value}
          type="button"
          aria-pressed={value === o.value}
          onClick={() => onChange(o.value)}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}

const mutationStatuses = [
  { value: 'FAILED', label: 'Failed' },
  { value: 'PENDING', label: 'Pending' },
  { value: 'CONFLICT', label: 'Conflicting' },
] as const;

function SyncQueue() {
  const { api } = useSession();
  const { route, navigate } = useRouter();
  const status =
    mutationStatuses.find((s) => s.value === route.query.get('status'))?.value ?? 'FAILED';
  const list = useResource(
    () => api.get<{ mutations: QueuedMutation[] }>('/api/sync/admin/mutations', { status }),
    [api, status],
  );
  const action = useAction();
  const retry = (mutations: QueuedMutation[], key: string) =>
    action.run(key, async () => {
      let retried = 0;
      const byDevice = new Map<string, string[]>();
      for (const m of mutations)
        byDevice.set(m.deviceId, [...(byDevice.get(m.deviceId) ?? []), m.id]);
      for (const [deviceId, mutationIds] of byDevice) {
        const result = await api.post<{ retried: number; results: { status: string }[] }>(
          '/api/sync/queue/retry',
          { deviceId, mutationIds },
        );
        retried += result.retried;
      }
      await list.reload();
      return `${retried} change${retried === 1 ? '' : 's'} retried.`;
    });
  const rows = list.data?.mutations ?? [];
  return (
    <Card
      title="Sync queue"
      actions={
        status === 'FAILED' && rows.length > 1 ? (
          <button
            type="button"
            className="button small"
            disabled={action.busy !== undefined}
            onClick={() => void retry(rows, 'all')}
          >
            Retry all failed
          </button>
        ) : null
      }
    >
      <p className="muted">
        Changes the server holds for devices (seed 001's queue): failed ones can be retried once
        their cause is fixed; conflicting ones wait in the conflict inbox.
      </p>
      <div className="filters">
        <StatusFilter
          label="Sync queue status"
          value={status}
          options={mutationStatuses}
          onChange={(value) => navigate(`queues?status=${value}`, { replace: true })}
        />
      </div>
      {action.done ? <Notice tone="good">{action.done}</Notice> : null}
      <ErrorNotice error={action.error} title="The retry failed" />
      <ErrorNotice error={list.error} title="The queue could not be loaded" />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && rows.length === 0 ? <EmptyState title="Nothing in this state" /> : null}
      {rows.length > 0 ? (
        <table className="table responsive">
          <thead>
            <tr>
              <th scope="col">Change</th>
              <th scope="col">User · device</th>
              <th scope="col">Attempts</th>
              <th scope="col">Error</th>
              <th scope="col">Queued</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((m) => (
              <tr key={`${m.deviceId}/${m.id}`}>
                <td data-label="Change">
                  <Badge tone={statusTone[m.status] ?? 'neutral'}>{m.status.toLowerCase()}</Badge>{' '}
                  <strong>{m.operation.toLowerCase()}</strong> {m.entityType} / {m.entityId}
                  <div className="muted small mono">{m.id}</div>
                </td>
                <td data-label="User · device">
                  {m.userId}
                  <div className="muted small">{m.deviceId}</div>
                </td>
                <td data-label="Attempts">{m.attempts}</td>
                <td data-label="Error">
                  {m.error ? (
                    <>
                      <span className="mono small">{m.error.code}</span>
                      <div className="small">{m.error.message}</div>
                    </>
                  ) : (
                    '—'
                  )}
                </td>
                <td data-label="Queued" title={dateTime(m.createdAt)}>
                  {age(m.createdAt)}
                </td>
                <td className="row-actions">
                  {m.status === 'FAILED' ? (
                    <button
                      type="button"
                      className="button small"
                      aria-label={`Retry ${m.id}`}
                      disabled={action.busy !== undefined}
                      onClick={() => void retry([m], m.id)}
                    >
                      {action.busy === m.id ? 'Retrying…' : 'Retry'}
                    </button>
                  ) : m.conflictId ? (
                    <Link
                      to={`conflicts/${encodeURIComponent(m.conflictId)}`}
                      className="button small"
                    >
                      Open conflict
                    </Link>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Card>
  );
}

function Attempts({ id }: { id: number }) {
  const { api } = useSession();
  const attempts = useResource(
    () => api.get<OfflineAttempt[]>(`/api/offline/history/${id}`, { limit: 20 }),
    [api, id],
  );
  if (attempts.error) return <ErrorNotice error={attempts.error} />;
  if (!attempts.data) return <Loading />;
  if (attempts.data.length === 0) return <p className="muted small">Not attempted yet.</p>;
  return (
    <ul className="attempts">
      {attempts.data.map((a) => (
        <li key={a.id}>
          <Badge tone={statusTone[a.status] ?? 'neutral'}>{a.status}</Badge> attempt {a.attempt} ·{' '}
          {dateTime(a.created_at)}
          {a.status_code ? ` · HTTP ${a.status_code}` : ''}
          {a.duration_ms !== null ? ` · ${a.duration_ms} ms` : ''}
          {a.network_type ? ` · ${a.network_type}` : ''}
          {a.error_message ? <div className="small">{a.error_message}</div> : null}
        </li>
      ))}
    </ul>
  );
}

const operationStatuses = [
  { value: 'failed', label: 'Failed' },
  { value: 'pending', label: 'Pending' },
  { value: 'conflict', label: 'Conflicting' },
] as const;

type OperationStatus = (typeof operationStatuses)[number]['value'];

function ReplayQueue() {
  const { api } = useSession();
  const [status, setStatus] = useState<OperationStatus>('failed');
  const [open, setOpen] = useState<number>();
  const list = useResource(
    () => api.get<OfflineOperation[]>('/api/offline/pending', { status, limit: 200 }),
    [api, status],
  );
  const action = useAction();
  const retry = (ids: number[], key: string) =>
    action.run(key, async () => {
      const result = await api.post<{ retried: number; success: number; failed: number }>(
        '/api/offline/retry',
        { ids },
      );
      await list.reload();
      return `${result.retried} operation${result.retried === 1 ? '' : 's'} reopened: ${result.success} synced, ${result.failed} failed.`;
    });
  const rows = list.data ?? [];
  return (
    <Card title="Replayed requests">
      <p className="muted">
        Requests recorded offline and replayed against the business's own API (seed 003), with the
        history of every attempt.
      </p>
      <div className="filters">
        <StatusFilter<OperationStatus>
          label="Replayed request status"
          value={status}
          options={operationStatuses}
          onChange={setStatus}
        />
      </div>
      {action.done ? <Notice tone="good">{action.done}</Notice> : null}
      <ErrorNotice error={action.error} title="The retry failed" />
      <ErrorNotice error={list.error} title="The operations could not be loaded" />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && rows.length === 0 ? <EmptyState title="Nothing in this state" /> : null}
      {rows.length > 0 ? (
        <table className="table responsive">
          <thead>
            <tr>
              <th scope="col">Operation</th>
              <th scope="col">User · device</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last answer</th>
              <th scope="col">Queued</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((op) => (
              <tr key={op.id}>
                <td data-label="Operation">
                  <Badge tone={statusTone[op.status] ?? 'neutral'}>{op.status}</Badge>{' '}
                  <strong>{op.operation_type}</strong> #{op.id}
                  <div className="mono small">
                    {op.method} {compact(op.endpoint, 60)}
                  </div>
                  {open === op.id ? <Attempts id={op.id} /> : null}
                </td>
                <td data-label="User · device">
                  {op.user_id}
                  <div className="muted small">{op.device_id}</div>
                </td>
                <td data-label="Attempts">
                  {op.sync_attempts} of {op.max_attempts}
                </td>
                <td data-label="Last answer">
                  {op.status_code ? `HTTP ${op.status_code}` : '—'}
                  {op.conflict_type ? <div className="small">{op.conflict_type}</div> : null}
                  {op.error_message ? (
                    <div className="small">{compact(op.error_message, 90)}</div>
                  ) : null}
                </td>
                <td data-label="Queued" title={dateTime(op.created_at)}>
                  {age(op.created_at)}
                </td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="button small ghost"
                    aria-expanded={open === op.id}
                    onClick={() => setOpen(open === op.id ? undefined : op.id)}
                  >
                    {open === op.id ? 'Hide attempts' : 'Attempts'}
                  </button>
                  {op.status === 'failed' ? (
                    <button
                      type="button"
                      className="button small"
                      aria-label={`Retry operation ${op.id}`}
                      disabled={action.busy !== undefined}
                      onClick={() => void retry([op.id], String(op.id))}
                    >
                      {action.busy === String(op.id) ? 'Retrying…' : 'Retry'}
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Card>
  );
}

export function QueuesPage() {
  return (
    <>
      <PageHeader
        title="Queues"
        description="Changes and requests that have not reached their destination yet."
      />
      <SyncQueue />
      <ReplayQueue />
    </>
  );
}
