// The signed-in session: the access token and whether the local data is encrypted. Kept in a small
// IndexedDB database of its own because the service worker reads it too, to sync in the
// background. The passphrase is never stored: an encrypted session asks for it on each opening.
import { openDB, type IDBPDatabase } from 'idb';

export interface FieldSession {
  token: string;
  /** The local data is encrypted at rest under a passphrase the user types on each opening. */
  encrypted: boolean;
}

const databaseName = 'syncline-field-session';
const storeName = 'session';
const key = 'current';

let opening: Promise<IDBPDatabase> | undefined;
const database = () =>
  (opening ??= openDB(databaseName, 1, {
    upgrade(db) {
      db.createObjectStore(storeName);
    },
  }));

const isSession = (value: unknown): value is FieldSession =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as FieldSession).token === 'string' &&
  typeof (value as FieldSession).encrypted === 'boolean';

export async function loadSession(): Promise<FieldSession | undefined> {
  const value: unknown = await (await database()).get(storeName, key);
  return isSession(value) ? value : undefined;
}

export async function saveSession(session: FieldSession): Promise<void> {
  await (await database()).put(storeName, { ...session }, key);
}

export async function clearSession(): Promise<void> {
  await (await database()).delete(storeName, key);
}
