// useQuery and useEntity: a collection's local data as React state, queried again after every
// change the collection reports. Results that arrive out of order are dropped, and a result equal
// to the one shown does not re-render, so a collection object rebuilt on each render cannot loop.
import { useEffect, useMemo, useRef, useState } from 'react';
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
): QueryResult<D> {
  const [loaded, setLoaded] = useState<Loaded<D> | undefined>(undefined);
  const runRef = useRef(run);
  runRef.current = run;

  useEffect(() => {
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
  }, [collection, key]);

  if (loaded === undefined || loaded.key !== key)
    return { data: empty, loading: true, error: undefined };
  return { data: loaded.data, loading: false, error: loaded.error };
}

const noRows: never[] = [];

/**
 * The collection's live entities matching `filter`, kept current. A field-equality filter is
 * compared by value; a predicate is applied at render, so an inline arrow function is fine.
 */
export function useQuery<T extends object>(
  collection: QueryableCollection<T>,
  filter?: Partial<T> | ((item: WithId<T>) => boolean),
): QueryResult<Array<WithId<T>>> {
  const predicate = typeof filter === 'function' ? filter : undefined;
  const fields = typeof filter === 'function' ? undefined : filter;
  const key = JSON.stringify(fields ?? null);
  const result = useSubscribedQuery(
    collection,
    key,
    () => collection.find(fields),
    noRows as Array<WithId<T>>,
  );
  const data = useMemo(
    () => (predicate ? result.data.filter(predicate) : result.data),
    [result.data, predicate],
  );
  return { ...result, data };
}

/** One entity by id, kept current; `data` is undefined while loading and once it is deleted. */
export function useEntity<T extends object>(
  collection: QueryableCollection<T>,
  id: string,
): QueryResult<WithId<T> | undefined> {
  return useSubscribedQuery(collection, JSON.stringify(id), () => collection.get(id), undefined);
}
