// A list the client keeps (conflicts, failed changes) as React state, read again whenever the
// client's status changes, which it does whenever such a list does.
import type { SyncClient } from '@syncline/client';
import { useEffect, useState } from 'react';

export function useClientList<T>(client: SyncClient, read: (client: SyncClient) => Promise<T[]>) {
  const [items, setItems] = useState<T[]>([]);
  useEffect(() => {
    let active = true;
    let generation = 0;
    const refresh = () => {
      const mine = (generation += 1);
      read(client).then(
        (next) => active && mine === generation && setItems(next),
        () => undefined,
      );
    };
    const offStatus = client.on('status', refresh);
    const offConflict = client.on('conflict', refresh);
    refresh();
    return () => {
      active = false;
      offStatus();
      offConflict();
    };
    // `read` is one of the module-level readers below: constant.
  }, [client]);
  return items;
}
