// @syncline/client/react: React hooks over a sync client (React 18 or later).
export { useSyncStatus } from './use-sync-status.js';
export { useEntity, useQuery } from './use-query.js';
export type {
  QueryableCollection,
  QueryResult,
  SyncStatusLike,
  SyncStatusSource,
  WithId,
} from './types.js';
