// Changes the server refused (or that failed too often): why, in words, with Retry and Discard.
import type { SyncClient } from '@syncline/client';
import { useState } from 'react';
import { useField } from '../app-context.js';
import { explainFailure } from '../problems.js';
import { useClientList } from '../use-client-list.js';

const readFailed = (client: SyncClient) => client.failed();

export function FailedChanges() {
  const { client } = useField();
  const failed = useClientList(client, readFailed);
  const [working, setWorking] = useState<string | null>(null);
  if (failed.length === 0) return null;

  const act = async (id: string, action: () => Promise<unknown>) => {
    setWorking(id);
    try {
      await action();
    } finally {
      setWorking(null);
    }
  };

  return (
    <section className="notices" aria-label="Refused changes">
      {failed.map((change) => {
        const { title, detail } = explainFailure(change);
        return (
          <article
            key={change.mutationId}
            className="notice-card tone-bad"
            role="alert"
            aria-label={title}
          >
            <h2>{title}</h2>
            <p className="small">{detail}</p>
            <div className="notice-actions">
              <button
                type="button"
                className="button small"
                disabled={working === change.mutationId}
                onClick={() =>
                  void act(change.mutationId, () => client.retryFailed([change.mutationId]))
                }
              >
                Retry
              </button>
              <button
                type="button"
                className="button small danger-outline"
                disabled={working === change.mutationId}
                onClick={() => void act(change.mutationId, () => client.discard(change.mutationId))}
              >
                Discard
              </button>
            </div>
          </article>
        );
      })}
    </section>
  );
}
