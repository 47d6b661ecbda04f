// The tenant's settings: seed 003's offline config (offline mode, auto-sync, retries, queue size,
// the default conflict strategy, which operations may run offline), retention and alert
// thresholds, and each collection's conflict defaults (set in the server's collections config).
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../api.js';
import { useSession } from '../app-context.js';
import { Card, ErrorNotice, Loading, Notice, PageHeader } from '../components/ui.js';
import { dateTime, humanize } from '../format.js';
import type { CollectionInfo, OfflineConfig, TenantSettingsView } from '../types.js';
import { useResource } from '../use-resource.js';

function useSave() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [saved, setSaved] = useState(false);
  async function save(run: () => Promise<void>) {
    setBusy(true);
    setError(undefined);
    setSaved(false);
    try {
      await run();
      setSaved(true);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, 'CLIENT', String(caught)));
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, saved, save };
}

function Toggle({
  label,
  hint,
  checked,
  onChange,
}: {
  label: string;
  hint?: string;
  checked: boolean;
  onChange(value: boolean): void;
}) {
  return (
    <label className="toggle">
      <input
        type="checkbox"
        checked={checked}
        onChange={(event) => onChange(event.target.checked)}
      />
      <span>
        {label}
        {hint ? <span className="muted small block">{hint}</span> : null}
      </span>
    </label>
  );
}

function NumberField({
  label,
  hint,
  value,
  min,
  max,
  onChange,
}: {
  label: string;
  hint?: ReactNode;
  value: number;
  min: number;
  max: number;
  onChange(value: number): void;
}) {
  return (
    <label className="field">
      {label}
      <input
        type="number"
        inputMode="numeric"
        min={min}
        max={max}
        value={Number.isFinite(value) ? value : ''}
        onChange={(event) => onChange(event.target.valueAsNumber)}
      />
      {hint ? <span className="muted small">{hint}</span> : null}
    </label>
  );
}

const strategies: { value: OfflineConfig['default_conflict_strategy']; label: string }[] = [
  { value: 'server_wins', label: 'Server wins' },
  { value: 'client_wins', label: 'Device wins' },
  { value: 'merge', label: 'Merge' },
  { value: 'manual', label: 'Manual review' },
];

const offlineKinds = [
  ['allow_sales_offline', 'Sales'],
  ['allow_expenses_offline', 'Expenses'],
  ['allow_records_offline', 'Records'],
  ['allow_payments_offline', 'Payments'],
  ['allow_stock_adjustment_offline', 'Stock adjustments'],
] as const;

function OfflineConfigForm() {
  const { api } = useSession();
  const loaded = useResource(() => api.get<OfflineConfig>('/api/offline/config'), [api]);
  const [draft, setDraft] = useState<OfflineConfig>();
  const saving = useSave();
  useEffect(() => setDraft(loaded.data), [loaded.data]);

  if (loaded.error)
    return <ErrorNotice error={loaded.error} title="The offline settings could not be loaded" />;
  if (!draft) return <Loading />;
  const set = <K extends keyof OfflineConfig>(key: K, value: OfflineConfig[K]) =>
    setDraft({ ...draft, [key]: value });

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!draft) return;
    await saving.save(async () => {
      const { business_id: _b, updated_at: _u, updated_by: _by, ...patch } = draft;
      const next = await api.patch<OfflineConfig>('/api/offline/config', {
        ...patch,
        upstream_base_url: patch.upstream_base_url?.trim() ? patch.upstream_base_url.trim() : null,
      });
      setDraft(next);
    });
  }

  return (
    <form onSubmit={submit} className="settings-form">
      <div className="form-grid">
        <Toggle
          label="Offline mode"
          hint="Devices may queue operations while offline."
          checked={draft.offline_mode_enabled}
          onChange={(v) => set('offline_mode_enabled', v)}
        />
        <Toggle
          label="Automatic sync"
          hint="Queued operations replay on their own when due."
          checked={draft.auto_sync_enabled}
          onChange={(v) => set('auto_sync_enabled', v)}
        />
        <NumberField
          label="Sync interval (minutes)"
          value={draft.sync_interval_minutes}
          min={1}
          max={1440}
          onChange={(v) => set('sync_interval_minutes', v)}
        />
        <NumberField
          label="Retry attempts"
          hint="After the first attempt, before an operation is failed."
          value={draft.max_retry_attempts}
          min={0}
          max={20}
          onChange={(v) => set('max_retry_attempts', v)}
        />
        <NumberField
          label="Largest queue (operations)"
          value={draft.max_queue_size}
          min={1}
          max={100000}
          onChange={(v) => set('max_queue_size', v)}
        />
        <label className="field">
          Default conflict strategy
          <select
            value={draft.default_conflict_strategy}
            onChange={(event) =>
              set(
                'default_conflict_strategy',
                event.target.value as OfflineConfig['default_conflict_strategy'],
              )
            }
          >
            {strategies.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field wide">
          Upstream API base URL
          <input
            type="url"
            value={draft.upstream_base_url ?? ''}
            placeholder="https://api.example.com"
            onChange={(event) => set('upstream_base_url', event.target.value)}
          />
          <span className="muted small">Where queued requests are replayed.</span>
        </label>
      </div>
      <fieldset className="checks">
        <legend>Operations allowed offline</legend>
        {offlineKinds.map(([key, label]) => (
          <Toggle key={key} label={label} checked={draft[key]} onChange={(v) => set(key, v)} />
        ))}
      </fieldset>
      <ErrorNotice error={saving.error} title="The offline settings were not saved" />
      {saving.saved ? <Notice tone="good">Offline settings saved.</Notice> : null}
      <div className="form-footer">
        <span className="muted small">
          {draft.updated_at
            ? `Last changed ${dateTime(draft.updated_at)} by ${draft.updated_by}`
            : 'Server defaults'}
        </span>
        <button type="submit" className="button primary" disabled={saving.busy}>
          {saving.busy ? 'Saving…' : 'Save offline settings'}
        </button>
      </div>
    </form>
  );
}

type Maintenance = TenantSettingsView['settings'];

function MaintenanceForm() {
  const { api } = useSession();
  const loaded = useResource(() => api.get<TenantSettingsView>('/api/sync/admin/settings'), [api]);
  const [draft, setDraft] = useState<Maintenance>();
  const saving = useSave();
  useEffect(() => setDraft(loaded.data?.settings), [loaded.data]);

  if (loaded.error) {
    return loaded.error.status === 404 ? (
      <p className="muted">This server runs without background jobs, so it has no such settings.</p>
    ) : (
      <ErrorNotice error={loaded.error} title="The settings could not be loaded" />
    );
  }
  if (!draft) return <Loading />;
  const setRetention = (key: keyof Maintenance['retention'], value: number) =>
    setDraft({ ...draft, retention: { ...draft.retention, [key]: value } });
  const setAlerts = (key: keyof Maintenance['alerts'], value: number) =>
    setDraft({ ...draft, alerts: { ...draft.alerts, [key]: value } });

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!draft) return;
    await saving.save(async () => {
      const view = await api.patch<TenantSettingsView>('/api/sync/admin/settings', draft);
      setDraft(view.settings);
    });
  }

  return (
    <form onSubmit={submit} className="settings-form">
      <h3>Retention (days; 0 keeps forever)</h3>
      <div className="form-grid">
        <NumberField
          label="Synced changes"
          value={draft.retention.mutationsDays}
          min={0}
          max={3650}
          onChange={(v) => setRetention('mutationsDays', v)}
        />
        <NumberField
          label="Old versions"
          value={draft.retention.historyDays}
          min={0}
          max={3650}
          onChange={(v) => setRetention('historyDays', v)}
        />
        <NumberField
          label="Deleted entities"
          value={draft.retention.tombstonesDays}
          min={0}
          max={3650}
          onChange={(v) => setRetention('tombstonesDays', v)}
        />
      </div>
      <h3>Alerts</h3>
      <div className="form-grid">
        <NumberField
          label="Device failure rate (%)"
          value={draft.alerts.failureRatePercent}
          min={0}
          max={100}
          onChange={(v) => setAlerts('failureRatePercent', v)}
        />
        <NumberField
          label="Fewest changes to judge a device"
          value={draft.alerts.minMutations}
          min={1}
          max={1000000}
          onChange={(v) => setAlerts('minMutations', v)}
        />
        <NumberField
          label="Conflicts waiting"
          value={draft.alerts.pendingConflicts}
          min={0}
          max={1000000}
          onChange={(v) => setAlerts('pendingConflicts', v)}
        />
        <NumberField
          label="Sync delay (minutes)"
          hint="Also when a device counts as lagging."
          value={draft.alerts.syncDelayMinutes}
          min={1}
          max={525600}
          onChange={(v) => setAlerts('syncDelayMinutes', v)}
        />
        <NumberField
          label="Window (hours)"
          value={draft.alerts.windowHours}
          min={1}
          max={8760}
          onChange={(v) => setAlerts('windowHours', v)}
        />
      </div>
      <ErrorNotice error={saving.error} title="The settings were not saved" />
      {saving.saved ? <Notice tone="good">Retention and alert settings saved.</Notice> : null}
      <div className="form-footer">
        <span className="muted small">
          {loaded.data?.updatedAt
            ? `Last changed ${dateTime(loaded.data.updatedAt)} by ${loaded.data.updatedBy}`
            : 'Server defaults'}
        </span>
        <button type="submit" className="button primary" disabled={saving.busy}>
          {saving.busy ? 'Saving…' : 'Save retention and alerts'}
        </button>
      </div>
    </form>
  );
}

function ConflictDefaults() {
  const { api } = useSession();
  const loaded = useResource(
    () =>
      api.get<{ defaultStrategy: string; strict: boolean; collections: CollectionInfo[] }>(
        '/api/sync/admin/collections',
      ),
    [api],
  );
  if (loaded.error) return <ErrorNotice error={loaded.error} />;
  if (!loaded.data) return <Loading />;
  const { defaultStrategy, strict, collections } = loaded.data;
  return (
    <>
      <p className="muted">
        Without a strategy of its own a collection uses <strong>{humanize(defaultStrategy)}</strong>
        {strict ? '; entity types not listed are refused' : '; other entity types use it too'}.
        These come from the server's collections config (<code>SYNCLINE_CONFIG</code>).
      </p>
      <table className="table responsive">
        <thead>
          <tr>
            <th scope="col">Collection</th>
            <th scope="col">On conflict</th>
            <th scope="col">Merge rules</th>
            <th scope="col">Access</th>
          </tr>
        </thead>
        <tbody>
          {collections.map((c) => (
            <tr key={c.name}>
              <td data-label="Collection">
                <strong>{c.name}</strong>
              </td>
              <td data-label="On conflict">
                {humanize(c.conflictStrategy)}
                {c.ownStrategy ? null : <span className="muted small"> (default)</span>}
                {c.timeDetector ? (
                  <div className="muted small">
                    time fields {c.timeDetector.fields.join(', ')} ±{' '}
                    {c.timeDetector.toleranceMs / 1000} s
                  </div>
                ) : null}
              </td>
              <td data-label="Merge rules" className="small">
                {Object.keys(c.mergePolicy).length
                  ? Object.entries(c.mergePolicy)
                      .map(([field, policy]) => `${field}: ${policy.toLowerCase()}`)
                      .join(', ')
                  : '—'}
              </td>
              <td data-label="Access" className="small">
                {c.access}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function SettingsPage() {
  return (
    <>
      <PageHeader
        title="Settings"
        description="How this tenant syncs, keeps data and raises alerts."
      />
      <Card title="Offline operations">
        <OfflineConfigForm />
      </Card>
      <Card title="Retention and alerts">
        <MaintenanceForm />
      </Card>
      <Card title="Conflict defaults">
        <ConflictDefaults />
      </Card>
    </>
  );
}
