// The SDK's ports: what the sync client needs from local storage, injected by the app
// (memoryStorage, indexedDbStorage, sqliteStorage). The core never imports an adapter.
//
// Bodies (`body`) are opaque strings to the storage: JSON text, or ciphertext when the client
// encrypts at rest. Everything an adapter must index on (type, id, version, seq) stays in clear.

/** The last state of one entity as the server confirmed it. */
export interface EntityRow {
  type: string;
  id: string;
  /** Server version this state is at. */
  version: number;
  /** A tombstone: the server deleted it (the body is null). */
  deleted: boolean;
  /** JSON text of the entity's data, or its ciphertext. */
  body: string | null;
}

export const OutboxState = { PENDING: 'PENDING', FAILED: 'FAILED' } as const;
export type OutboxState = (typeof OutboxState)[keyof typeof OutboxState];

/** One local change waiting to reach the server (the outbox drains FIFO by `seq`). */
export interface OutboxRow {
  /** Position in the outbox; assigned by the client, strictly increasing. */
  seq: number;
  /** The idempotency key sent as `mutationId`; stable across every retry. */
  mutationId: string;
  type: string;
  id: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  /** The server version the change was made on (`clientVersion` on the wire). */
  baseVersion: number;
  /** When the change was made (ISO 8601). */
  timestamp: string;
  attempts: number;
  state: OutboxState;
  /** Why it failed, once it did (an error code and message, JSON text). */
  error: string | null;
  /** JSON text of the payload (a merge patch for UPDATE), or its ciphertext; null for DELETE. */
  body: string | null;
}

/** A conflict the server reported, kept until the app acknowledges it. */
export interface ConflictRow {
  id: string;
  /** JSON text of the protocol's Conflict (client and server data inside), or its ciphertext. */
  body: string;
}

/** One write; a `write()` call applies a list of them atomically. */
export type StorageWrite =
  | { kind: 'putEntity'; row: EntityRow }
  | { kind: 'removeEntity'; type: string; id: string }
  | { kind: 'clearEntities' }
  | { kind: 'putOutbox'; row: OutboxRow }
  | { kind: 'removeOutbox'; seq: number }
  | { kind: 'putConflict'; row: ConflictRow }
  | { kind: 'removeConflict'; id: string }
  | { kind: 'setMeta'; key: string; value: string | null };

/**
 * Local storage for one sync client. Guarantees every adapter must give (the conformance suite
 * in src/testing checks them):
 * - `write()` is atomic: after a crash, either every write of the call is there or none is;
 *   and it is durable once its promise resolves.
 * - Reads after a resolved `write()` see it; `listOutbox()` is ordered by `seq`;
 *   `listEntities(type)` returns that type's rows in `id` order, tombstones included.
 * - Rows come back equal to what was written (no added or missing fields).
 */
export interface LocalStore {
  getMeta(key: string): Promise<string | undefined>;
  getEntity(type: string, id: string): Promise<EntityRow | undefined>;
  listEntities(type: string): Promise<EntityRow[]>;
  listOutbox(): Promise<OutboxRow[]>;
  listConflicts(): Promise<ConflictRow[]>;
  write(writes: readonly StorageWrite[]): Promise<void>;
  close(): Promise<void>;
}
