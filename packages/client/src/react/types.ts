// The part of the sync client the hooks use, declared structurally: any client with this shape
// works, and the hooks carry no dependency on how the client is built.
import type { Query } from '../core/query.js';

/** The status a sync badge shows (`Pending: 3, Failed: 1`). */
export interface SyncStatusLike {
  state: string;
  pending: number;
  failed: number;
  conflicts: number;
  lastSyncAt: string | null;
}

export interface SyncStatusSource<S extends SyncStatusLike = SyncStatusLike> {
  /** The current status; may be a new object on every read. */
  readonly status: S;
  /** Calls back after the status changed; returns an unsubscribe. */
  on(event: 'status', callback: (status: S) => void): () => void;
}

export type WithId<T> = T & { id: string };

export interface QueryableCollection<T extends object = Record<string, unknown>> {
  /** Calls back after any change to this collection's type; returns an unsubscribe. */
  subscribe(callback: () => void): () => void;
  /** An indexed query, field equality or a predicate. */
  find(filter?: Query | Partial<T> | ((item: WithId<T>) => boolean)): Promise<Array<WithId<T>>>;
  get(id: string): Promise<WithId<T> | undefined>;
  /** A live query (see Collection.watch); without it, useQuery runs a query after every change. */
  watch?(
    query: Query,
    onResult: (rows: Array<WithId<T>>) => void,
    onError?: (error: unknown) => void,
  ): () => void;
}

export interface QueryResult<D> {
  /** The latest result; `[]` or `undefined` until the first query resolves. */
  data: D;
  /** True until the first result for the current arguments has arrived. */
  loading: boolean;
  /** Why the last query failed, if it did (data then keeps its previous value). */
  error: unknown;
}
