// useSyncStatus: the client's status as React state, through useSyncExternalStore so that every
// component reads the same status in a render (no tearing).
import { useCallback, useRef, useSyncExternalStore } from 'react';
import type { SyncStatusSource } from './types.js';

/**
 * The client's sync status; re-renders when any of its fields changes. Typed by the client, so
 * that the status type is read from `status` whatever the shape of the client's generic `on`.
 */
export function useSyncStatus<C extends SyncStatusSource>(client: C): C['status'] {
  type S = C['status'];
  const last = useRef<S | undefined>(undefined);
  const subscribe = useCallback((onChange: () => void) => client.on('status', onChange), [client]);
  // useSyncExternalStore needs a stable snapshot between changes, while `status` may be built
  // afresh on each read: hand back the previous object as long as no field differs.
  const getSnapshot = (): S => {
    const next = client.status;
    if (last.current !== undefined && shallowEqual(last.current, next)) return last.current;
    last.current = next;
    return next;
  };
  return useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
}

function shallowEqual(a: object, b: object): boolean {
  const keysA = Object.keys(a);
  if (keysA.length !== Object.keys(b).length) return false;
  return keysA.every((key) =>
    Object.is((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}
