// useQuery and useEntity: a collection's local data as React state, queried again after every
// change the collection reports (or, for an indexed query, only after changes that can affect it). Results that arrive out of order are dropped, and a result equal
// to the one shown does not re-render, so a collection object rebuilt on each render cannot loop.
import { useEffect, useMemo, useRef, useState } from 'react';
import { isQuery, type Query } from '../core/query.js';
import type { QueryableCollection, QueryResult, WithId } from './types.js';

interface Loaded<D> {
  /** Which arguments the data answers; data for other arguments is not shown. */
  key: string;
  data: D;
  json: string;
  error: unknown;
}

function useSubscribedQuery<D>(
  collection: { subscribe(callback: () => void): () => void },
  key: string,
  run: () => Promise<D>,
  empty: D,
  idle = false,
): QueryResult<D> {
  const [loaded, setLoaded] = useState<Loaded<D> | undefined>(undefined);
  const runRef = useRef(run);
  runRef.current = run;

  useEffect(() => {
    if (idle) return undefined;
    let generation = 0;
    let active = true;
    const query = () => {
      const mine = (generation += 1);
      runRef.current().then(
        (data) => {
          if (!active || mine !== generation) return;
          const json = JSON.stringify(data) ?? '';
          setLoaded((prev) =>
            prev && prev.key === key && prev.json === json && prev.error === undefined
              ? prev
              : { key, data, json, error: undefined },
          );
        },
        (error: unknown) => {
          if (!active || mine !== generation) return;
          setLoaded((prev) => ({
            key,
            data: prev?.key === key ? prev.data : empty,
            json: prev?.key === key ? prev.json : '',
            error,
          }));
        },
      );
    };
    // Subscribe first, so that a change landing while the first query runs is not missed.
    const unsubscribe = collection.subscribe(query);
    query();
    return () => {
      active = false;
      unsubscribe();
    };
    // `empty` is a constant per hook; `run` is read through its ref.
  }, [collection, key, idle]);

  if (loaded === undefined || loaded.key !== key)
    return { data: empty, loading: true, error: undefined };
  return { data: loaded.data, loading: false, error: loaded.error };
}

const noRows: never[] = [];

/**
 * A live indexed query: the collection's `watch` runs it again only after changes that can
 * affect it. The query is compared by value, so an inline object literal is fine.
 */
function useLiveQuery<T extends object>(
  collection: QueryableCollection<T>,
  query: Query | undefined,
): QueryResult<Array<WithId<T>>> {
  const key = JSON.stringify(query ?? null);
  const [loaded, setLoaded] = useState<Loaded<Array<WithId<T>>> | undefined>(undefined);
  useEffect(() => {
    if (!query || !collection.watch) return undefined;
    const live: Query = JSON.parse(key) as Query;
    return collection.watch(
      live,
      (data) => {
        const json = JSON.stringify(data);
        setLoaded((prev) =>
          prev && prev.key === key && prev.json === json && prev.error === undefined
            ? prev
            : { key, data, json, error: undefined },
        );
      },
      (error) =>
        setLoaded((prev) => ({
          key,
          data: prev?.key === key ? prev.data : (noRows as Array<WithId<T>>),
          json: prev?.key === key ? prev.json : '',
          error,
        })),
    );
    // The query is read through its key: a new object with the same content changes nothing.
  }, [collection, key]);
  if (loaded === undefined || loaded.key !== key)
    return { data: noRows as Array<WithId<T>>, loading: true, error: undefined };
  return { data: loaded.data, loading: false, error: loaded.error };
}

/**
 * The collection's live entities, kept current. With a Query (`{ where, orderBy, limit,
 * offset }` on indexed fields) it is a live query, run again only when a change can affect it.
 * With a field-equality filter (compared by value) or a predicate (applied at render, so an
 * inline arrow function is fine) it runs again after every change of the collection.
 */
export function useQuery<T extends object>(
  collection: QueryableCollection<T>,
  filter?: Query | Partial<T> | ((item: WithId<T>) => boolean),
): QueryResult<Array<WithId<T>>> {
  const query = isQuery(filter) && collection.watch ? filter : undefined;
  const live = useLiveQuery(collection, query);
  const predicate = typeof filter === 'function' ? filter : undefined;
  const fields = typeof filter === 'function' || query ? undefined : filter;
  const key = query ? 'live' : JSON.stringify(fields ?? null);
  const result = useSubscribedQuery(
    collection,
    key,
    // A live query is answered by useLiveQuery; this one then stays idle.
    () => (query ? Promise.resolve(noRows as Array<WithId<T>>) : collection.find(fields)),
    noRows as Array<WithId<T>>,
    query !== undefined,
  );
  const data = useMemo(
    () => (predicate ? result.data.filter(predicate) : result.data),
    [result.data, predicate],
  );
  if (query) return live;
  return { ...result, data };
}

/** One entity by id, kept current; `data` is undefined while loading and once it is deleted. */
export function useEntity<T extends object>(
  collection: QueryableCollection<T>,
  id: string,
): QueryResult<WithId<T> | undefined> {
  return useSubscribedQuery(collection, JSON.stringify(id), () => collection.get(id), undefined);
}
