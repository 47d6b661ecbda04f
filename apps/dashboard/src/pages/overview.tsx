// The landing page: what needs a person now (conflicts, failures, lagging devices, alerts) and
// sync activity over the last day or month.
import { useState } from 'react';
import { useSession } from '../app-context.js';
import { ActivityCharts } from '../components/charts.js';
import { Badge, Card, ErrorNotice, Loading, PageHeader, Stat } from '../components/ui.js';
import { age, duration, integer } from '../format.js';
import { Link } from '../router.js';
import type { Activity, Alert, Overview } from '../types.js';
import { useResource } from '../use-resource.js';

const alertText: Record<string, (alert: Alert) => string> = {
  'device-failure-rate': (a) =>
    `Device ${a.subject} fails ${a.value}% of its changes (threshold ${a.threshold}%)`,
  'pending-conflicts': (a) => `${a.value} conflicts wait for review (threshold ${a.threshold})`,
  'sync-delay': (a) =>
    `Device ${a.subject} held a change ${duration(Math.round(a.value))} before syncing (threshold ${duration(a.threshold)})`,
};

function alertLink(alert: Alert): string {
  if (alert.kind === 'pending-conflicts') return 'conflicts';
  return `devices/${encodeURIComponent(alert.subject)}`;
}

function Count({ n, one, many }: { n: number; one: string; many: string }) {
  return (
    <span>
      <strong>{integer(n)}</strong> {n === 1 ? one : many}
    </span>
  );
}

export function OverviewPage() {
  const { api } = useSession();
  const [bucket, setBucket] = useState<'hour' | 'day'>('hour');
  const overview = useResource(() => api.get<Overview>('/api/sync/admin/overview'), [api]);
  const activity = useResource(
    () => api.get<Activity>('/api/sync/admin/activity', { bucket }),
    [api, bucket],
  );
  const o = overview.data;

  return (
    <>
      <PageHeader
        title="Overview"
        description="What needs attention now, and how syncing has gone."
        actions={
          <button
            type="button"
            className="button"
            onClick={() => {
              void overview.reload();
              void activity.reload();
            }}
          >
            Refresh
          </button>
        }
      />
      <ErrorNotice error={overview.error} title="The overview could not be loaded" />
      {o ? (
        <div className="stats">
          <Link to="conflicts" className="stat-link">
            <Stat
              label="Conflicts to review"
              value={integer(o.pendingConflicts)}
              tone={o.pendingConflicts > 0 ? 'warn' : 'good'}
              hint={o.pendingConflicts > 0 ? 'Open the inbox' : 'Inbox is empty'}
            />
          </Link>
          <Link to="queues?status=FAILED" className="stat-link">
            <Stat
              label="Failed changes"
              value={integer(o.mutations.FAILED)}
              tone={o.mutations.FAILED > 0 ? 'bad' : 'good'}
              hint={`${integer(o.mutations.PENDING)} pending in the queue`}
            />
          </Link>
          <Link to="devices" className="stat-link">
            <Stat
              label="Active devices"
              value={integer(o.devices.active)}
              tone="info"
              hint={`${integer(o.devices.total)} registered, ${integer(o.devices.revoked)} revoked`}
            />
          </Link>
          <Link to="devices?filter=lagging" className="stat-link">
            <Stat
              label="Lagging devices"
              value={integer(o.devices.lagging)}
              tone={o.devices.lagging > 0 ? 'warn' : 'good'}
              hint={`No sync for ${duration(o.thresholds.syncDelayMinutes)}`}
            />
          </Link>
        </div>
      ) : overview.loading ? (
        <Loading />
      ) : null}

      {o ? (
        <Card
          title="Alerts"
          actions={
            <Badge tone={o.alerts.length ? 'bad' : 'good'}>
              {o.alerts.length ? `${o.alerts.length} firing` : 'All clear'}
            </Badge>
          }
        >
          {o.alerts.length === 0 ? (
            <p className="muted">
              No threshold is exceeded. Thresholds are set under <Link to="settings">Settings</Link>
              .
            </p>
          ) : (
            <ul className="alerts">
              {o.alerts.map((alert) => (
                <li key={`${alert.kind}/${alert.subject}`}>
                  <span className="alert-dot" aria-hidden="true" />
                  <Link to={alertLink(alert)}>
                    {(alertText[alert.kind] ?? ((a: Alert) => a.message))(alert)}
                  </Link>
                  <span className="muted small">
                    {alert.raisedAt ? `since ${age(alert.raisedAt)}` : 'just now'}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </Card>
      ) : null}

      <Card
        title="Sync activity"
        actions={
          <div className="segmented" role="group" aria-label="Period">
            <button
              type="button"
              aria-pressed={bucket === 'hour'}
              onClick={() => setBucket('hour')}
            >
              Last 24 hours
            </button>
            <button type="button" aria-pressed={bucket === 'day'} onClick={() => setBucket('day')}>
              Last 30 days
            </button>
          </div>
        }
      >
        <ErrorNotice error={activity.error} title="Activity could not be loaded" />
        {activity.data ? (
          <>
            <div className="totals">
              <Count n={activity.data.totals.syncs} one="sync" many="syncs" />
              <Count n={activity.data.totals.applied} one="change applied" many="changes applied" />
              <Count n={activity.data.totals.conflicts} one="conflict" many="conflicts" />
              <Count n={activity.data.totals.rejected} one="rejected" many="rejected" />
            </div>
            <ActivityCharts activity={activity.data} />
          </>
        ) : activity.loading ? (
          <Loading label="Loading activity…" />
        ) : null}
      </Card>
    </>
  );
}
