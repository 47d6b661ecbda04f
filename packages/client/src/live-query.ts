// A live query: runs once, then again only after a change that can affect its result. A change
// can, when it touches an entity the result holds (it may have left, moved or changed) or one
// whose view after the change matches the query's conditions (it may have entered). Any other
// change of the type (an entity that neither was shown nor matches now) leaves the result as it
// is, whatever the limit. A change that does not say which entities it touched (another tab's
// write, a reset) runs the query again. Runs never overlap; any change during a run asks for one
// more.
import type { JsonObject } from '@syncline/protocol';
import type { StorageQuery } from './core/ports.js';
import { indexFields, rowQualifies } from './core/query.js';
import type { ChangedEntity } from './core/sync-client.js';

export interface WatchQueryOptions<R extends { id: string }> {
  /** The query checked and normalized; a throw is reported through onError and nothing runs. */
  normalized: () => StorageQuery;
  indexes: readonly string[];
  run: () => Promise<R[]>;
  /** Subscribes to the type's changes; the callback gets the changed entities, if known. */
  listen: (callback: (entities?: readonly ChangedEntity[]) => void) => () => void;
  onResult: (rows: R[]) => void;
  onError: (error: unknown) => void;
}

/** Whether an entity's view after a change matches the query's conditions. */
export function viewMatches(
  data: JsonObject,
  query: StorageQuery,
  indexes: readonly string[],
): boolean {
  const probe = { type: '', id: '', version: 0, deleted: false, body: null };
  return rowQualifies({ ...probe, fields: indexFields(data, indexes) }, query);
}

export function watchQuery<R extends { id: string }>(options: WatchQueryOptions<R>): () => void {
  let query: StorageQuery;
  try {
    query = options.normalized();
  } catch (error) {
    queueMicrotask(() => options.onError(error));
    return () => undefined;
  }
  let active = true;
  let shown = new Set<string>();
  let running = false;
  let again = false;

  const affects = (entities?: readonly ChangedEntity[]): boolean =>
    entities === undefined ||
    entities.some(
      (entity) =>
        shown.has(entity.id) ||
        (entity.data !== undefined && viewMatches(entity.data, query, options.indexes)),
    );

  const runOnce = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        try {
          const rows = await options.run();
          if (!active) return;
          shown = new Set(rows.map((row) => row.id));
          if (!again) options.onResult(rows);
        } catch (error) {
          if (active && !again) options.onError(error);
        }
      } while (again && active);
    } finally {
      running = false;
    }
  };

  // Subscribed before the first run, so that a change landing during it is not missed.
  const unlisten = options.listen((entities) => {
    if (!active) return;
    // During a run the result it will show is not known yet: any change asks for another.
    if (running) again = true;
    else if (affects(entities)) void runOnce();
  });
  void runOnce();
  return () => {
    active = false;
    unlisten();
  };
}
