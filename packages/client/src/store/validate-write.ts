// Checks one StorageWrite before an adapter applies it, so that every adapter refuses the same
// malformed rows with the same error. Adapters call it per item inside their transaction: an
// invalid item midway through a write() aborts the whole call, and nothing of it stays.
import { OutboxState, type OutboxRow, type StorageWrite } from '../core/ports.js';

/** A write() item that breaks the LocalStore contract; the call it was part of changed nothing. */
export class InvalidStorageWriteError extends Error {
  override readonly name = 'InvalidStorageWriteError';
  readonly code = 'INVALID_STORAGE_WRITE';
}

const operations: ReadonlySet<unknown> = new Set(['CREATE', 'UPDATE', 'DELETE']);
const outboxStates: ReadonlySet<unknown> = new Set(Object.values(OutboxState));

function fail(write: { kind: string }, message: string): never {
  throw new InvalidStorageWriteError(`${write.kind}: ${message}`);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isNullableString(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

function isIndexFields(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every(
    (v) =>
      v === null ||
      typeof v === 'string' ||
      typeof v === 'boolean' ||
      (typeof v === 'number' && Number.isFinite(v)),
  );
}

function isCompounds(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.every(
      (pair) =>
        Array.isArray(pair) &&
        pair.length === 2 &&
        isNonEmptyString(pair[0]) &&
        isNonEmptyString(pair[1]) &&
        pair[0] !== pair[1],
    )
  );
}

/** Meta keys the adapters keep for themselves (revision, outbox counter, leases). */
export const adapterMetaPrefix = 'syncline.store.';

function assertOutboxFields(write: StorageWrite, row: Omit<OutboxRow, 'seq'>): void {
  if (!isNonEmptyString(row.mutationId)) fail(write, 'mutationId must be a non-empty string');
  if (!isNonEmptyString(row.type)) fail(write, 'type must be a non-empty string');
  if (!isNonEmptyString(row.id)) fail(write, 'id must be a non-empty string');
  if (!operations.has(row.operation)) fail(write, 'operation must be CREATE, UPDATE or DELETE');
  if (!isCount(row.baseVersion)) fail(write, 'baseVersion must be a non-negative integer');
  if (typeof row.timestamp !== 'string') fail(write, 'timestamp must be a string');
  if (!isCount(row.attempts)) fail(write, 'attempts must be a non-negative integer');
  if (!outboxStates.has(row.state)) fail(write, 'state must be PENDING or FAILED');
  if (!isNullableString(row.error)) fail(write, 'error must be a string or null');
  if (!isNullableString(row.body)) fail(write, 'body must be a string or null');
}

/** Throws InvalidStorageWriteError unless `write` is a well-formed StorageWrite. */
export function assertStorageWrite(write: StorageWrite): void {
  if (typeof write !== 'object' || write === null) {
    throw new InvalidStorageWriteError('a write must be an object');
  }
  switch (write.kind) {
    case 'putEntity': {
      const { row } = write;
      if (!isNonEmptyString(row?.type)) fail(write, 'type must be a non-empty string');
      if (!isNonEmptyString(row.id)) fail(write, 'id must be a non-empty string');
      if (!isCount(row.version)) fail(write, 'version must be a non-negative integer');
      if (typeof row.deleted !== 'boolean') fail(write, 'deleted must be a boolean');
      if (!isNullableString(row.body)) fail(write, 'body must be a string or null');
      if (row.deleted && row.body !== null) fail(write, 'a tombstone has a null body');
      if (row.fields !== undefined && !isIndexFields(row.fields)) {
        fail(write, 'fields must be an object of strings, finite numbers, booleans or null');
      }
      if (write.compounds !== undefined && !isCompounds(write.compounds)) {
        fail(write, 'compounds must be a list of [field, field] pairs of two different fields');
      }
      return;
    }
    case 'removeEntity':
      if (!isNonEmptyString(write.type)) fail(write, 'type must be a non-empty string');
      if (!isNonEmptyString(write.id)) fail(write, 'id must be a non-empty string');
      return;
    case 'clearEntities':
      return;
    case 'putOutbox':
      if (!isCount(write.row?.seq)) fail(write, 'seq must be a non-negative integer');
      assertOutboxFields(write, write.row);
      return;
    case 'appendOutbox':
      if (typeof write.row !== 'object' || write.row === null) fail(write, 'row must be an object');
      if ('seq' in write.row) fail(write, 'the storage gives the seq; the row has none');
      assertOutboxFields(write, write.row);
      return;
    case 'removeOutbox':
      if (!isCount(write.seq)) fail(write, 'seq must be a non-negative integer');
      return;
    case 'putConflict':
      if (!isNonEmptyString(write.row?.id)) fail(write, 'id must be a non-empty string');
      if (typeof write.row.body !== 'string') fail(write, 'body must be a string');
      return;
    case 'removeConflict':
      if (!isNonEmptyString(write.id)) fail(write, 'id must be a non-empty string');
      return;
    case 'setMeta':
      if (!isNonEmptyString(write.key)) fail(write, 'key must be a non-empty string');
      if (write.key.startsWith(adapterMetaPrefix))
        fail(write, `${write.key} is kept by the storage`);
      if (!isNullableString(write.value)) fail(write, 'value must be a string or null');
      return;
    default:
      throw new InvalidStorageWriteError(
        `unknown write kind ${JSON.stringify((write as { kind?: unknown }).kind)}`,
      );
  }
}

/** The error every adapter raises when used after close(). */
export class LocalStoreClosedError extends Error {
  override readonly name = 'LocalStoreClosedError';
  readonly code = 'LOCAL_STORE_CLOSED';
  constructor() {
    super('the local store is closed');
  }
}
