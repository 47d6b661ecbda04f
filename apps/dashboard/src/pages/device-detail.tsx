// One device: its details and health, and its recent sync requests.
import { useSession } from '../app-context.js';
import { DeviceStatus, deviceLabel } from '../components/device-status.js';
import { RevokeDevice } from '../components/revoke-device.js';
import { Badge, Card, EmptyState, ErrorNotice, Loading, PageHeader } from '../components/ui.js';
import { age, dateTime, percent, plural } from '../format.js';
import { Link } from '../router.js';
import type { DeviceHealth, SyncHistoryRow } from '../types.js';
import { useResource } from '../use-resource.js';

const outcomeTone = { ok: 'good', partial: 'warn', error: 'bad' } as const;

export function DeviceDetailPage({ deviceId }: { deviceId: string }) {
  const { api } = useSession();
  const loaded = useResource(
    () =>
      api.get<{ device: DeviceHealth; history: SyncHistoryRow[] }>(
        `/api/sync/admin/devices/${encodeURIComponent(deviceId)}/history`,
      ),
    [api, deviceId],
  );
  if (loaded.error) {
    return (
      <>
        <PageHeader title={deviceId} />
        <ErrorNotice error={loaded.error} title="This device could not be loaded" />
        <Link to="devices">Back to the devices</Link>
      </>
    );
  }
  if (!loaded.data) return <Loading />;
  const { device, history } = loaded.data;
  return (
    <>
      <PageHeader
        title={device.deviceName ?? device.deviceId}
        description={
          <>
            <DeviceStatus device={device} /> Used by <strong>{device.userId}</strong>, registered{' '}
            {dateTime(device.createdAt)}.
          </>
        }
        actions={
          <>
            <Link
              to={`conflicts?deviceId=${encodeURIComponent(device.deviceId)}`}
              className="button ghost"
            >
              Its conflicts
            </Link>
            {device.isActive ? (
              <RevokeDevice
                deviceId={device.deviceId}
                label={deviceLabel(device)}
                onRevoked={() => void loaded.reload()}
              />
            ) : null}
          </>
        }
      />
      <Card title="Details">
        <dl className="facts">
          <div>
            <dt>Device id</dt>
            <dd className="mono">{device.deviceId}</dd>
          </div>
          <div>
            <dt>Platform</dt>
            <dd>{device.platform ?? '—'}</dd>
          </div>
          <div>
            <dt>App version</dt>
            <dd>{device.appVersion ?? '—'}</dd>
          </div>
          <div>
            <dt>Local schemas</dt>
            <dd className="mono">{device.schemaVersions ?? '—'}</dd>
          </div>
          <div>
            <dt>Last sync</dt>
            <dd title={dateTime(device.lastSyncAt)}>{age(device.lastSyncAt)}</dd>
          </div>
          <div>
            <dt>Behind the feed</dt>
            <dd>{device.changesBehind === null ? '—' : plural(device.changesBehind, 'change')}</dd>
          </div>
          <div>
            <dt>Failure rate</dt>
            <dd>
              {percent(device.failureRatePercent)}{' '}
              <span className="muted small">
                ({device.failed} of {plural(device.mutations, 'change')})
              </span>
            </dd>
          </div>
        </dl>
      </Card>
      <Card title="Recent syncs">
        {history.length === 0 ? (
          <EmptyState title="No syncs yet" />
        ) : (
          <table className="table responsive">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Route</th>
                <th scope="col">Pushed</th>
                <th scope="col">Applied</th>
                <th scope="col">Conflicts</th>
                <th scope="col">Rejected</th>
                <th scope="col">Pulled</th>
                <th scope="col">Took</th>
                <th scope="col">Network</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {history.map((row) => (
                <tr key={row.id}>
                  <td data-label="When" title={dateTime(row.createdAt)}>
                    {age(row.createdAt)}
                  </td>
                  <td data-label="Route" className="mono small">
                    {row.route}
                  </td>
                  <td data-label="Pushed">{row.pushed}</td>
                  <td data-label="Applied">{row.applied}</td>
                  <td data-label="Conflicts">{row.conflicts}</td>
                  <td data-label="Rejected">{row.rejected}</td>
                  <td data-label="Pulled">{row.pulled}</td>
                  <td data-label="Took">{row.durationMs} ms</td>
                  <td data-label="Network">{row.networkType ?? '—'}</td>
                  <td data-label="Outcome">
                    <Badge tone={outcomeTone[row.outcome]}>{row.outcome}</Badge>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}
