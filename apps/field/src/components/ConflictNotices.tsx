// A notice for each change that lost a conflict or waits for review, with both versions of the
// fields that differ; dismissing it acknowledges it on this device.
import type { ConflictView, SyncClient } from '@syncline/client';
import { useState } from 'react';
import { useField } from '../app-context.js';
import { formatValue } from '../format.js';
import { statusLabel } from '../inspection.js';
import { conflictDifferences, explainConflict } from '../problems.js';
import { useClientList } from '../use-client-list.js';

const readConflicts = (client: SyncClient) => client.conflicts();

const labelOf = (conflict: ConflictView) => {
  const data = conflict.serverData ?? conflict.clientData ?? {};
  const name = data.name ?? data.title ?? data.facilityId;
  return typeof name === 'string' ? name : conflict.entityId;
};

/** An asset's status in the words the inspection form uses; anything else as formatted. */
const shown = (conflict: ConflictView, field: string, value: unknown) =>
  conflict.entityType === 'asset' && field === 'status' && typeof value === 'string'
    ? statusLabel(value)
    : formatValue(value);

export function ConflictNotices() {
  const { client } = useField();
  const conflicts = useClientList(client, readConflicts);
  const [dismissing, setDismissing] = useState<string | null>(null);
  if (conflicts.length === 0) return null;

  const dismiss = async (id: string) => {
    setDismissing(id);
    try {
      await client.acknowledgeConflict(id);
    } finally {
      setDismissing(null);
    }
  };

  return (
    <section className="notices" aria-label="Conflicts">
      {conflicts.map((conflict) => {
        const { title, detail } = explainConflict(conflict);
        const differences = conflictDifferences(conflict);
        const keptLabel = conflict.waitingForReview ? 'Recorded' : 'Kept';
        return (
          <article
            key={conflict.id}
            className="notice-card tone-warn"
            role="alert"
            aria-label={`${title}: ${labelOf(conflict)}`}
          >
            <h2>{title}</h2>
            <p className="small">
              <strong>{labelOf(conflict)}</strong> — {detail}
            </p>
            {differences.length > 0 && (
              <table className="versions">
                <caption className="sr-only">Both versions of {labelOf(conflict)}</caption>
                <colgroup>
                  <col className="field-col" />
                  <col />
                  <col />
                </colgroup>
                <thead>
                  <tr>
                    <th scope="col">Field</th>
                    <th scope="col">Yours</th>
                    <th scope="col">{keptLabel}</th>
                  </tr>
                </thead>
                <tbody>
                  {differences.map((d) => (
                    <tr key={d.field}>
                      <th scope="row">{d.label}</th>
                      <td className="yours">{shown(conflict, d.field, d.yours)}</td>
                      <td className="kept">{shown(conflict, d.field, d.kept)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <div className="notice-actions">
              <button
                type="button"
                className="button small"
                onClick={() => void dismiss(conflict.id)}
                disabled={dismissing === conflict.id}
              >
                Dismiss
              </button>
            </div>
          </article>
        );
      })}
    </section>
  );
}
