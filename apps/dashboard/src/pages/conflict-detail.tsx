// One conflict: the base, server and device versions side by side with the changed fields
// highlighted, and the three ways to settle it: keep the server's, keep the device's, or merge
// field by field into an edited version.
import { useMemo, useState } from 'react';
import { ApiError } from '../api.js';
import { useSession } from '../app-context.js';
import { Badge, Card, ErrorNotice, Loading, Notice, PageHeader } from '../components/ui.js';
import {
  compareVersions,
  mergedPayload,
  parseTyped,
  showJson,
  type FieldComparison,
  type FieldSource,
  type Json,
  type JsonRecord,
} from '../diff.js';
import { setFlash } from '../flash.js';
import { age, dateTime, humanize } from '../format.js';
import { Link, useRouter } from '../router.js';
import type { AdminConflict } from '../types.js';
import { useResource } from '../use-resource.js';
import { resolutionLabel } from './conflicts.js';

type Resolution = 'SERVER_WINS' | 'CLIENT_WINS' | 'MERGE';

const doneMessage: Record<Resolution, string> = {
  SERVER_WINS: 'the server version stays',
  CLIENT_WINS: "the device's version is now the current one",
  MERGE: 'the merged version is now the current one',
};

function Cell({
  value,
  changed,
  label,
}: {
  value: Json | undefined;
  changed: boolean;
  label: string;
}) {
  return (
    <td data-label={label} className={changed ? 'changed' : undefined}>
      {value === undefined ? (
        <span className="absent">not set</span>
      ) : (
        <span className="value">{showJson(value)}</span>
      )}
      {changed ? <span className="sr-only"> (changed)</span> : null}
    </td>
  );
}

function MergeCell({
  row,
  source,
  custom,
  onSource,
  onCustom,
}: {
  row: FieldComparison;
  source: FieldSource;
  custom: string;
  onSource(source: FieldSource): void;
  onCustom(text: string): void;
}) {
  const id = `merge-${row.field}`;
  return (
    <td data-label="Merged" className="merge-cell">
      <label className="sr-only" htmlFor={`${id}-source`}>
        Merged {row.field} from
      </label>
      <select
        id={`${id}-source`}
        value={source}
        onChange={(event) => onSource(event.target.value as FieldSource)}
      >
        <option value="server">Server</option>
        <option value="device">Device</option>
        <option value="base">Base</option>
        <option value="custom">Edit…</option>
      </select>
      {source === 'custom' ? (
        <>
          <label className="sr-only" htmlFor={`${id}-value`}>
            Merged {row.field}
          </label>
          <input
            id={`${id}-value`}
            value={custom}
            onChange={(event) => onCustom(event.target.value)}
          />
        </>
      ) : (
        <span className="value merged-preview">
          {row[source] === undefined ? (
            <span className="absent">left out</span>
          ) : (
            showJson(row[source])
          )}
        </span>
      )}
    </td>
  );
}

export function ConflictDetailPage({ id }: { id: string }) {
  const { api } = useSession();
  const { navigate } = useRouter();
  const loaded = useResource(
    () =>
      api.get<{ conflict: AdminConflict }>(`/api/sync/admin/conflicts/${encodeURIComponent(id)}`),
    [api, id],
  );
  const [merging, setMerging] = useState(false);
  const [choices, setChoices] = useState<Record<string, FieldSource>>({});
  const [custom, setCustom] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState<Resolution>();
  const [error, setError] = useState<ApiError>();
  const [stale, setStale] = useState(false);

  const conflict = loaded.data?.conflict;
  const rows = useMemo(
    () =>
      conflict
        ? compareVersions(
            conflict.baseData as JsonRecord | null,
            conflict.serverData as JsonRecord | null,
            conflict.clientData as JsonRecord | null,
          )
        : [],
    [conflict],
  );

  if (loaded.error) {
    return (
      <>
        <PageHeader title="Conflict" />
        <ErrorNotice error={loaded.error} title="This conflict could not be loaded" />
        <Link to="conflicts">Back to the inbox</Link>
      </>
    );
  }
  if (!conflict) return <Loading />;

  const pending = conflict.status === 'PENDING_REVIEW';
  const deviceDeleted = conflict.clientData === null;
  const serverDeleted = conflict.serverData === null;
  const changedByBoth = rows.filter((r) => r.clash).length;

  async function resolve(resolution: Resolution) {
    if (!conflict) return;
    setBusy(resolution);
    setError(undefined);
    setStale(false);
    try {
      const body: Record<string, unknown> = { conflictId: conflict.id, resolution };
      if (resolution === 'MERGE') {
        const typed = Object.fromEntries(
          Object.entries(custom).map(([field, text]) => [field, parseTyped(text)]),
        );
        body.resolvedData = mergedPayload(rows, choices, typed);
      }
      await api.post('/api/sync/conflicts/resolve', body);
      setFlash(
        `Conflict on ${conflict.entityType} / ${conflict.entityId} resolved: ${doneMessage[resolution]}.`,
      );
      navigate('conflicts');
    } catch (caught) {
      const apiError =
        caught instanceof ApiError ? caught : new ApiError(0, 'CLIENT', String(caught));
      if (apiError.code === 'CONFLICT_STALE') {
        setStale(true);
        await loaded.reload();
      } else {
        setError(apiError);
      }
    } finally {
      setBusy(undefined);
    }
  }

  const sourceOf = (row: FieldComparison) => choices[row.field] ?? row.suggested;
  const startMerge = () => {
    setMerging(true);
    setCustom(
      Object.fromEntries(rows.map((r) => [r.field, showJson(r[r.suggested] ?? r.server ?? null)])),
    );
  };

  return (
    <>
      <PageHeader
        title={`${conflict.entityType} / ${conflict.entityId}`}
        description={
          <>
            <Badge tone="warn">{humanize(conflict.type)}</Badge> Raised {age(conflict.createdAt)} by{' '}
            <strong>{conflict.userId}</strong> on device{' '}
            {conflict.deviceId ? (
              <Link to={`devices/${encodeURIComponent(conflict.deviceId)}`}>
                {conflict.deviceId}
              </Link>
            ) : (
              'unknown'
            )}
            .
          </>
        }
        actions={
          <Link to="conflicts" className="button ghost">
            Back to the inbox
          </Link>
        }
      />
      {stale ? (
        <Notice tone="warn">
          The entity changed on the server since this conflict was raised. The server column now
          shows the current version: look again before you choose.
        </Notice>
      ) : null}
      <ErrorNotice error={error} title="The conflict could not be resolved" />
      {!pending ? (
        <Notice tone="good">
          Resolved:{' '}
          <strong>{resolutionLabel[conflict.resolution ?? ''] ?? conflict.resolution}</strong> by{' '}
          {conflict.resolvedBy ?? 'a rule'} on {dateTime(conflict.resolvedAt)}.
        </Notice>
      ) : null}

      <Card
        title="Versions side by side"
        actions={
          <span className="legend">
            <span className="legend-item">
              <span className="swatch changed" aria-hidden="true" /> changed since the base
            </span>
            {changedByBoth ? (
              <span className="legend-item">
                <span className="swatch clash" aria-hidden="true" /> changed on both sides
              </span>
            ) : null}
          </span>
        }
      >
        <table className="table compare responsive">
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Base · v{conflict.clientVersion}</th>
              <th scope="col">
                Server · v{conflict.serverVersion}
                {serverDeleted ? ' (deleted)' : ''}
              </th>
              <th scope="col">Device{deviceDeleted ? ' (deleted it)' : ' · edited'}</th>
              {merging ? <th scope="col">Merged</th> : null}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.field} className={row.clash ? 'clash' : undefined}>
                <th scope="row" data-label="Field">
                  {row.field}
                </th>
                <Cell label={`Base v${conflict.clientVersion}`} value={row.base} changed={false} />
                <Cell
                  label={`Server v${conflict.serverVersion}`}
                  value={row.server}
                  changed={row.serverChanged}
                />
                <Cell label="Device" value={row.device} changed={row.deviceChanged} />
                {merging ? (
                  <MergeCell
                    row={row}
                    source={sourceOf(row)}
                    custom={custom[row.field] ?? ''}
                    onSource={(source) => setChoices({ ...choices, [row.field]: source })}
                    onCustom={(text) => setCustom({ ...custom, [row.field]: text })}
                  />
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
        {rows.length === 0 ? <p className="muted">Neither version has any fields.</p> : null}
      </Card>

      {pending ? (
        <Card title="Settle it">
          <div className="choices">
            <div className="choice">
              <button
                type="button"
                className="button"
                disabled={busy !== undefined}
                onClick={() => void resolve('SERVER_WINS')}
              >
                {busy === 'SERVER_WINS' ? 'Resolving…' : 'Keep server'}
              </button>
              <p className="muted small">
                The server's version v{conflict.serverVersion} stays; the device's edit is kept only
                in this record.
              </p>
            </div>
            <div className="choice">
              <button
                type="button"
                className="button primary"
                disabled={busy !== undefined}
                onClick={() => void resolve('CLIENT_WINS')}
              >
                {busy === 'CLIENT_WINS' ? 'Resolving…' : 'Keep device'}
              </button>
              <p className="muted small">
                {deviceDeleted
                  ? 'The entity is deleted, as the device asked.'
                  : `The device's version becomes v${conflict.serverVersion + 1}; every device pulls it.`}
              </p>
            </div>
            <div className="choice">
              {merging ? (
                <div className="merge-actions">
                  <button
                    type="button"
                    className="button primary"
                    disabled={busy !== undefined}
                    onClick={() => void resolve('MERGE')}
                  >
                    {busy === 'MERGE' ? 'Saving…' : 'Save merged version'}
                  </button>
                  <button
                    type="button"
                    className="button ghost"
                    disabled={busy !== undefined}
                    onClick={() => setMerging(false)}
                  >
                    Cancel merge
                  </button>
                </div>
              ) : (
                <button
                  type="button"
                  className="button"
                  disabled={busy !== undefined || deviceDeleted || serverDeleted}
                  onClick={startMerge}
                >
                  Merge
                </button>
              )}
              <p className="muted small">
                {deviceDeleted || serverDeleted
                  ? 'A delete cannot be merged.'
                  : merging
                    ? 'Choose each field in the Merged column, or edit it; then save.'
                    : 'Take each field from either side, or type it, as a new version.'}
              </p>
            </div>
          </div>
        </Card>
      ) : null}

      <details className="raw">
        <summary>Raw versions (JSON)</summary>
        <div className="raw-grid">
          {(
            [
              ['Base', conflict.baseData],
              ['Server', conflict.serverData],
              ['Device', conflict.clientData],
            ] as const
          ).map(([label, data]) => (
            <div key={label}>
              <h3>{label}</h3>
              <pre>{JSON.stringify(data, null, 2)}</pre>
            </div>
          ))}
        </div>
      </details>
    </>
  );
}
