// The default NetworkSignal: the platform's `online`/`offline` events and `visibilitychange`
// where the global scope has them (browsers, workers); elsewhere always online and silent.
import type { NetworkEvent, NetworkSignal } from '../core/sync-ports.js';

interface EventScope {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

interface PlatformGlobals {
  navigator?: { onLine?: boolean };
  document?: EventScope & { visibilityState?: string };
}

export function platformNetworkSignal(scope: unknown = globalThis): NetworkSignal {
  const platform = scope as PlatformGlobals & Partial<EventScope>;
  const events = typeof platform.addEventListener === 'function' ? (platform as EventScope) : null;
  const doc = typeof platform.document?.addEventListener === 'function' ? platform.document : null;
  return {
    isOnline: () => platform.navigator?.onLine !== false,
    subscribe(listener: (event: NetworkEvent) => void) {
      const online = () => listener('online');
      const offline = () => listener('offline');
      const visibility = () => {
        if (doc?.visibilityState !== 'hidden') listener('foreground');
      };
      events?.addEventListener('online', online);
      events?.addEventListener('offline', offline);
      doc?.addEventListener('visibilitychange', visibility);
      return () => {
        events?.removeEventListener('online', online);
        events?.removeEventListener('offline', offline);
        doc?.removeEventListener('visibilitychange', visibility);
      };
    },
  };
}
