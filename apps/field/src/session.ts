// The signed-in session, kept in a small IndexedDB database of its own because the service worker
// reads it too, to sync in the background. Without a passphrase it holds the access token; with
// one, the token sealed under it (./sealed-token.ts) and who signed in, for the unlock screen. The
// passphrase itself is never stored.
import { openDB, type IDBPDatabase } from 'idb';
import type { SealedToken } from './sealed-token.js';

export type FieldSession =
  | { encrypted: false; token: string }
  | { encrypted: true; sealed: SealedToken; user: { sub: string; tenant: string } };

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

const isText = (value: unknown): value is string => typeof value === 'string';

function isSession(value: unknown): value is FieldSession {
  if (typeof value !== 'object' || value === null) return false;
  const session = value as Record<string, unknown>;
  if (session.encrypted === false) return isText(session.token);
  if (session.encrypted !== true) return false;
  const sealed = session.sealed as Record<string, unknown> | undefined;
  const user = session.user as Record<string, unknown> | undefined;
  return (
    isText(sealed?.salt) &&
    isText(sealed?.iv) &&
    isText(sealed?.data) &&
    typeof sealed?.iterations === 'number' &&
    isText(user?.sub) &&
    isText(user?.tenant)
  );
}

export async function loadSession(): Promise<FieldSession | undefined> {
  const value: unknown = await (await database()).get(storeName, key);
  return isSession(value) ? value : undefined;
}

export async function saveSession(session: FieldSession): Promise<void> {
  await (await database()).put(storeName, structuredClone(session), key);
}

export async function clearSession(): Promise<void> {
  await (await database()).delete(storeName, key);
}
