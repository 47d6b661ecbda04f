// Always on screen: the connection, changes waiting to be sent and refused, the last sync, and
// "Sync now" with its progress (seed 004: a manual trigger showing real-time progress).
import type { SyncProgress, SyncSummary } from '@syncline/client';
import { useSyncStatus } from '@syncline/client/react';
import { useEffect, useState } from 'react';
import { useField } from '../app-context.js';
import { formatAgo } from '../format.js';
import { useOnline } from '../use-online.js';

type Outcome = { tone: 'good' | 'bad'; text: string };

function describeSummary(summary: SyncSummary): string {
  const parts = [`sent ${summary.pushed}`, `received ${summary.pulled}`];
  if (summary.conflicts)
    parts.push(`${summary.conflicts} conflict${summary.conflicts > 1 ? 's' : ''}`);
  if (summary.failed) parts.push(`${summary.failed} refused`);
  return `Synced: ${parts.join(', ')}.`;
}

function progressText(progress: SyncProgress): string {
  if (progress.phase === 'push') return `Sending changes… ${progress.pushed} sent`;
  const of = progress.total ? ` of about ${progress.total}` : '';
  return `Receiving… ${progress.pulled}${of}`;
}

export function SyncPanel({ onSignInAgain }: { onSignInAgain: () => void }) {
  const { client } = useField();
  const status = useSyncStatus(client);
  const online = useOnline();
  const [progress, setProgress] = useState<SyncProgress | null>(null);
  const [running, setRunning] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [, setTick] = useState(0);

  useEffect(() => client.on('progress', setProgress), [client]);
  useEffect(() => {
    if (status.state !== 'syncing') setProgress(null);
  }, [status.state]);
  // "2 min ago" stays true while the screen is open.
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), 30_000);
    return () => clearInterval(timer);
  }, []);

  const syncNow = async () => {
    setRunning(true);
    setOutcome(null);
    try {
      setOutcome({ tone: 'good', text: describeSummary(await client.syncNow()) });
    } catch (error) {
      setOutcome({
        tone: 'bad',
        text: `Sync failed: ${error instanceof Error ? error.message : String(error)}`,
      });
    } finally {
      setRunning(false);
    }
  };

  const syncing = running || status.state === 'syncing';
  const state = !online
    ? { tone: 'warn', label: 'Offline — changes are kept on this device' }
    : status.state === 'auth'
      ? { tone: 'bad', label: 'Sign in again: the server refused the token' }
      : status.state === 'error'
        ? { tone: 'bad', label: `Sync problem: ${status.error?.message ?? 'will retry'}` }
        : syncing
          ? { tone: 'info', label: 'Syncing…' }
          : status.pending > 0
            ? { tone: 'info', label: 'Online — sending shortly' }
            : { tone: 'good', label: 'Online — up to date' };

  return (
    <section className="sync-panel" aria-label="Sync">
      <div className="sync-line">
        <span className={`sync-state tone-${state.tone}`} role="status" aria-label="Connection">
          <span className="dot" aria-hidden="true" />
          {state.label}
        </span>
        {status.state === 'auth' ? (
          <button type="button" className="button primary small" onClick={onSignInAgain}>
            Sign in again
          </button>
        ) : (
          <button
            type="button"
            className="button primary small"
            onClick={() => void syncNow()}
            disabled={syncing || !online}
          >
            {syncing ? 'Syncing…' : 'Sync now'}
          </button>
        )}
      </div>
      <dl className="sync-counts">
        <div>
          <dt id="pending-label">Pending</dt>
          <dd>
            <output aria-labelledby="pending-label">{status.pending}</output>
          </dd>
        </div>
        <div>
          <dt id="failed-label">Failed</dt>
          <dd>
            <output aria-labelledby="failed-label" className={status.failed ? 'bad' : ''}>
              {status.failed}
            </output>
          </dd>
        </div>
        <div>
          <dt id="last-sync-label">Last sync</dt>
          <dd>
            <output aria-labelledby="last-sync-label">{formatAgo(status.lastSyncAt)}</output>
          </dd>
        </div>
      </dl>
      {syncing && (
        <div className="sync-progress">
          <progress
            aria-label="Sync progress"
            {...(progress?.total ? { max: progress.total, value: progress.pulled } : {})}
          />
          <span className="small muted">
            {progress ? progressText(progress) : 'Contacting the server…'}
          </span>
        </div>
      )}
      {outcome && !syncing && (
        <p className={`sync-outcome small tone-${outcome.tone}`} role="status">
          {outcome.text}
        </p>
      )}
    </section>
  );
}
