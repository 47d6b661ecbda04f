// Seed 002 on the device: the assets, an inspection form for one (status, notes, a reading) and
// its tasks. Everything is written locally first, so it all works offline.
import { useEntity, useQuery } from '@syncline/client/react';
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useField } from '../app-context.js';
import { Notice, type Message } from '../components/Notice.js';
import { formatAgo } from '../format.js';
import {
  inspectionMessages,
  inspectionPatch,
  inspectionStatuses,
  statusLabel,
  statusTone,
  type Asset,
  type Task,
} from '../inspection.js';

export function AssetsScreen() {
  const { client } = useField();
  const { data: assets, loading } = useQuery(client.collection<Asset>('asset'));
  const [selected, setSelected] = useState<string | null>(null);
  const sorted = [...assets].sort((a, b) => String(a.name).localeCompare(String(b.name)));

  return (
    <div className={`assets-layout${selected ? ' has-selection' : ''}`}>
      <section className="card asset-list" aria-labelledby="assets-title">
        <div className="card-header">
          <h1 id="assets-title">Assets</h1>
          <span className="muted small">{sorted.length} on this device</span>
        </div>
        {loading ? (
          <p className="muted">Loading…</p>
        ) : sorted.length === 0 ? (
          <p className="muted">No assets yet. They arrive with the next sync.</p>
        ) : (
          <ul className="asset-items">
            {sorted.map((asset) => (
              <li key={asset.id}>
                <button
                  type="button"
                  className={`asset-item${selected === asset.id ? ' active' : ''}`}
                  aria-current={selected === asset.id ? 'true' : undefined}
                  onClick={() => setSelected(asset.id)}
                >
                  <span className="asset-name">{asset.name}</span>
                  <span className={`badge tone-${statusTone(asset.status)}`}>
                    {statusLabel(asset.status)}
                  </span>
                  <span className="small muted asset-meta">
                    {asset.site ? `${asset.site} · ` : ''}
                    {asset.inspectedAt
                      ? `inspected ${formatAgo(asset.inspectedAt)}`
                      : 'not inspected yet'}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      {selected ? (
        <AssetDetail id={selected} onBack={() => setSelected(null)} />
      ) : (
        <section className="card asset-placeholder" aria-label="No asset chosen">
          <p className="muted">Choose an asset to inspect it and see its tasks.</p>
        </section>
      )}
    </div>
  );
}

function AssetDetail({ id, onBack }: { id: string; onBack: () => void }) {
  const { client } = useField();
  const { data: asset } = useEntity(client.collection<Asset>('asset'), id);
  if (!asset) {
    return (
      <section className="card" aria-label="Asset">
        <p className="muted">Loading…</p>
      </section>
    );
  }
  return (
    <div className="asset-detail">
      <button type="button" className="button ghost small back" onClick={onBack}>
        ← All assets
      </button>
      <InspectionForm asset={asset} />
      <Tasks assetId={asset.id} assetName={asset.name} />
    </div>
  );
}

function InspectionForm({ asset }: { asset: Asset & { id: string } }) {
  const { client, claims } = useField();
  const [status, setStatus] = useState(asset.status ?? '');
  const [notes, setNotes] = useState(asset.notes ?? '');
  const [reading, setReading] = useState(asset.reading == null ? '' : String(asset.reading));
  const [message, setMessage] = useState<Message | null>(null);
  const ids = { status: useId(), notes: useId(), reading: useId() };

  // Another device's edit arriving shows up in the form, unless one is being typed.
  const [dirty, setDirty] = useState(false);
  // Someone else's inspection arriving replaces what this form last said about its own.
  const seenInspection = useRef(asset.inspectedAt);
  useEffect(() => {
    if (asset.inspectedAt === seenInspection.current) return;
    seenInspection.current = asset.inspectedAt;
    if (asset.inspectedBy !== claims.sub) setMessage(null);
  }, [asset, claims.sub]);
  useEffect(() => {
    if (dirty) return;
    setStatus(asset.status ?? '');
    setNotes(asset.notes ?? '');
    setReading(asset.reading == null ? '' : String(asset.reading));
  }, [asset, dirty]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = inspectionPatch({ status, notes, reading }, claims.sub, new Date());
    if ('problem' in result) {
      setMessage({ tone: 'bad', text: inspectionMessages[result.problem] });
      return;
    }
    await client.collection<Asset>('asset').update(asset.id, result.patch);
    setDirty(false);
    setMessage({
      tone: 'good',
      text: navigator.onLine
        ? 'Inspection saved.'
        : 'Inspection saved on this device; it is sent when a connection returns.',
    });
  };
  const edit =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value);
      setDirty(true);
      setMessage(null);
    };
  const statuses: Array<[string, string]> = Object.entries(inspectionStatuses);
  if (status && !(status in inspectionStatuses)) statuses.push([status, status]);

  return (
    <form className="card" aria-labelledby="inspection-title" onSubmit={(e) => void submit(e)}>
      <div className="card-header">
        <h2 id="inspection-title">{asset.name}</h2>
        <span className={`badge tone-${statusTone(asset.status)}`}>
          {statusLabel(asset.status)}
        </span>
      </div>
      <p className="small muted">
        {asset.inspectedAt
          ? `Last inspected ${formatAgo(asset.inspectedAt)}${asset.inspectedBy ? ` by ${asset.inspectedBy}` : ''}.`
          : 'Not inspected yet.'}
      </p>
      <div className="form-grid">
        <div className="field">
          <label htmlFor={ids.status}>Status</label>
          <select id={ids.status} value={status} onChange={(e) => edit(setStatus)(e.target.value)}>
            <option value="" disabled>
              Choose…
            </option>
            {statuses.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.reading}>Reading</label>
          <input
            id={ids.reading}
            inputMode="decimal"
            value={reading}
            onChange={(e) => edit(setReading)(e.target.value)}
            placeholder="e.g. 12.5"
          />
        </div>
        <div className="field wide">
          <label htmlFor={ids.notes}>Notes</label>
          <textarea
            id={ids.notes}
            rows={3}
            value={notes}
            onChange={(e) => edit(setNotes)(e.target.value)}
          />
        </div>
      </div>
      <Notice message={message} />
      <button type="submit" className="button primary wide">
        Save inspection
      </button>
    </form>
  );
}

function Tasks({ assetId, assetName }: { assetId: string; assetName: string }) {
  const { client } = useField();
  const tasks = client.collection<Task>('task');
  const { data } = useQuery(tasks, { assetId });
  const [title, setTitle] = useState('');
  const newTaskId = useId();
  const sorted = [...data].sort(
    (a, b) =>
      Number(a.status === 'done') - Number(b.status === 'done') || a.title.localeCompare(b.title),
  );

  const add = async (event: FormEvent) => {
    event.preventDefault();
    const text = title.trim();
    if (!text) return;
    await tasks.create({ title: text.slice(0, 200), status: 'open', assetId });
    setTitle('');
  };

  return (
    <section className="card" aria-labelledby="tasks-title">
      <h2 id="tasks-title">Tasks</h2>
      {sorted.length === 0 ? (
        <p className="muted small">No tasks for {assetName}.</p>
      ) : (
        <ul className="tasks">
          {sorted.map((task) => (
            <li key={task.id} className={task.status === 'done' ? 'done' : ''}>
              <label className="toggle">
                <input
                  type="checkbox"
                  checked={task.status === 'done'}
                  onChange={(e) =>
                    void tasks.update(task.id, { status: e.target.checked ? 'done' : 'open' })
                  }
                />
                <span>{task.title}</span>
              </label>
            </li>
          ))}
        </ul>
      )}
      <form className="add-task" onSubmit={(e) => void add(e)}>
        <label htmlFor={newTaskId}>New task</label>
        <div className="add-task-row">
          <input
            id={newTaskId}
            value={title}
            onChange={(e) => setTitle(e.target.value)}
            placeholder="e.g. Order a spare belt"
            maxLength={200}
          />
          <button type="submit" className="button small" disabled={title.trim() === ''}>
            Add task
          </button>
        </div>
      </form>
    </section>
  );
}
