// Every device of the tenant: who uses it, what it runs, when it last synced, how far behind the
// feed it is and how often its changes fail; revoke one from here.
import { useState } from 'react';
import { useSession } from '../app-context.js';
import { DeviceStatus } from '../components/device-status.js';
import { RevokeDevice } from '../components/revoke-device.js';
import { Card, EmptyState, ErrorNotice, Loading, Notice, PageHeader } from '../components/ui.js';
import { age, dateTime, percent, plural } from '../format.js';
import { Link, useRouter } from '../router.js';
import type { DeviceHealth } from '../types.js';
import { useResource } from '../use-resource.js';

type Filter = 'all' | 'active' | 'lagging' | 'revoked' | 'failing';

const filters: { value: Filter; label: string }[] = [
  { value: 'all', label: 'All' },
  { value: 'active', label: 'Active' },
  { value: 'lagging', label: 'Lagging' },
  { value: 'failing', label: 'Failing' },
  { value: 'revoked', label: 'Revoked' },
];

const matches: Record<Filter, (d: DeviceHealth) => boolean> = {
  all: () => true,
  active: (d) => d.isActive && !d.lagging,
  lagging: (d) => d.lagging,
  revoked: (d) => !d.isActive,
  failing: (d) => (d.failureRatePercent ?? 0) > 0,
};

export function DevicesPage() {
  const { api } = useSession();
  const { route, navigate } = useRouter();
  const filter = (filters.find((f) => f.value === route.query.get('filter'))?.value ??
    'all') as Filter;
  const [search, setSearch] = useState('');
  const [revoked, setRevoked] = useState<string>();
  const list = useResource(
    () => api.get<{ devices: DeviceHealth[] }>('/api/sync/admin/devices'),
    [api],
  );
  const needle = search.trim().toLowerCase();
  const devices = (list.data?.devices ?? [])
    .filter(matches[filter])
    .filter(
      (d) =>
        !needle ||
        [d.deviceId, d.userId, d.deviceName ?? '', d.platform ?? ''].some((v) =>
          v.toLowerCase().includes(needle),
        ),
    );

  return (
    <>
      <PageHeader title="Devices" description="Every device that has synced with this tenant." />
      {revoked ? (
        <Notice tone="good">{revoked} was revoked; its next sync is refused.</Notice>
      ) : null}
      <Card>
        <div className="filters">
          <div className="segmented" role="group" aria-label="Show">
            {filters.map((f) => (
              <button
                key={f.value}
                type="button"
                aria-pressed={filter === f.value}
                onClick={() =>
                  navigate(f.value === 'all' ? 'devices' : `devices?filter=${f.value}`, {
                    replace: true,
                  })
                }
              >
                {f.label}
              </button>
            ))}
          </div>
          <label>
            Search
            <input
              type="search"
              value={search}
              placeholder="Device, user or platform"
              onChange={(event) => setSearch(event.target.value)}
            />
          </label>
        </div>
        <ErrorNotice error={list.error} title="The devices could not be loaded" />
        {list.loading && !list.data ? <Loading /> : null}
        {list.data && devices.length === 0 ? (
          <EmptyState title="No devices here">
            Devices appear once they sync for the first time.
          </EmptyState>
        ) : null}
        {devices.length > 0 ? (
          <table className="table responsive">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">User</th>
                <th scope="col">Platform</th>
                <th scope="col">Last sync</th>
                <th scope="col">Behind</th>
                <th scope="col">Failure rate</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {devices.map((d) => (
                <tr key={d.deviceId}>
                  <td data-label="Device">
                    <Link to={`devices/${encodeURIComponent(d.deviceId)}`} className="strong">
                      {d.deviceName ?? d.deviceId}
                    </Link>
                    {d.deviceName ? <div className="muted small mono">{d.deviceId}</div> : null}
                  </td>
                  <td data-label="User">{d.userId}</td>
                  <td data-label="Platform">
                    {d.platform ?? '—'}
                    {d.appVersion ? <div className="muted small">app {d.appVersion}</div> : null}
                  </td>
                  <td data-label="Last sync" title={dateTime(d.lastSyncAt)}>
                    {age(d.lastSyncAt)}
                  </td>
                  <td data-label="Behind">
                    {d.changesBehind === null ? '—' : plural(d.changesBehind, 'change')}
                  </td>
                  <td data-label="Failure rate">
                    {percent(d.failureRatePercent)}
                    {d.mutations > 0 ? (
                      <div className="muted small">
                        {d.failed} of {d.mutations}
                      </div>
                    ) : null}
                  </td>
                  <td data-label="Status">
                    <DeviceStatus device={d} />
                  </td>
                  <td className="row-actions">
                    {d.isActive ? (
                      <RevokeDevice
                        deviceId={d.deviceId}
                        label={d.deviceName ?? d.deviceId}
                        onRevoked={() => {
                          setRevoked(d.deviceName ?? d.deviceId);
                          void list.reload();
                        }}
                      />
                    ) : null}
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
