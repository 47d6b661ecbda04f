// Encryption at rest over any LocalStore: entity, outbox and conflict bodies, outbox errors and
// meta values are AES-GCM ciphertext in the inner store; what it indexes on (type, id, version,
// seq, state, meta keys, and the values of the fields a collection declares as indexed) stays in
// clear. The key comes from a passphrase through PBKDF2-SHA256 with
// a random salt kept in clear meta beside a key check, so a wrong passphrase fails at open.
import {
  isLocalStoreChangedError,
  type ConflictRow,
  type EntityRow,
  type StorageQuery,
  type LocalStore,
  type OutboxRow,
  type StorageWrite,
  type WriteOptions,
  type WriteResult,
} from '../core/ports.js';
import {
  passphraseCipher,
  randomSalt,
  UnreadableCiphertextError,
  type StringCipher,
} from './encryption/passphrase-cipher.js';
import {
  assertStorageWrite,
  InvalidStorageWriteError,
  LocalStoreClosedError,
} from './validate-write.js';

export interface EncryptLocalStoreOptions {
  passphrase: string;
  /**
   * PBKDF2 iterations for a new store (an existing store keeps the count it was created with).
   * Default: encryptLocalStoreDefaults.iterations.
   */
  iterations?: number;
  /**
   * Meta keys an app writes on every store it uses (e.g. its device id). Found in clear on a
   * store without encryption settings, they show that it was written unencrypted, which is
   * refused (NOT_AN_ENCRYPTED_STORE) instead of failing later on an unreadable value.
   */
  clearMarkers?: readonly string[];
}

/** OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256. */
export const encryptLocalStoreDefaults = { iterations: 600_000 } as const;

/** The encrypted store could not be opened or read; `code` says why. */
export class LocalStoreEncryptionError extends Error {
  override readonly name = 'LocalStoreEncryptionError';
  constructor(
    readonly code: 'WRONG_PASSPHRASE' | 'UNREADABLE_VALUE' | 'NOT_AN_ENCRYPTED_STORE',
    message: string,
  ) {
    super(message);
  }
}

// Meta the wrapper keeps for itself, in clear, and refuses to let a caller overwrite.
const saltKey = 'syncline.encryption.salt';
const iterationsKey = 'syncline.encryption.iterations';
const checkKey = 'syncline.encryption.check';
const reservedKeys: ReadonlySet<string> = new Set([saltKey, iterationsKey, checkKey]);
const checkPlaintext = 'syncline local store key check';

// The additional data of each kind of value: a ciphertext opens only where it was written.
const at = {
  entity: (type: string, id: string) => `entity\u0000${type}\u0000${id}`,
  outboxBody: (row: Pick<OutboxRow, 'mutationId'>) => `outbox.body\u0000${row.mutationId}`,
  outboxError: (row: Pick<OutboxRow, 'mutationId'>) => `outbox.error\u0000${row.mutationId}`,
  conflict: (id: string) => `conflict\u0000${id}`,
  meta: (key: string) => `meta\u0000${key}`,
  check: 'key-check',
};

/**
 * Wraps `inner` so that everything it stores that can hold user data is encrypted. Opening an
 * existing store with another passphrase throws LocalStoreEncryptionError('WRONG_PASSPHRASE').
 */
export async function encryptLocalStore(
  inner: LocalStore,
  options: EncryptLocalStoreOptions,
): Promise<LocalStore> {
  if (typeof options.passphrase !== 'string' || options.passphrase.length === 0) {
    throw new TypeError('encryptLocalStore needs a non-empty passphrase');
  }
  const cipher = await openCipher(inner, options);
  return new EncryptedLocalStore(inner, cipher);
}

/**
 * Two tabs opening a new store at once must not each set up a key: the salt is written only if
 * nothing changed since it was found missing, and the loser opens with the winner's salt.
 */
async function openCipher(inner: LocalStore, options: EncryptLocalStoreOptions) {
  for (;;) {
    try {
      return await openCipherOnce(inner, options);
    } catch (error) {
      if (!isLocalStoreChangedError(error)) throw error;
    }
  }
}

async function openCipherOnce(
  inner: LocalStore,
  {
    passphrase,
    iterations = encryptLocalStoreDefaults.iterations,
    clearMarkers = [],
  }: EncryptLocalStoreOptions,
): Promise<StringCipher> {
  const revision = await inner.revision();
  const salt = await inner.getMeta(saltKey);
  if (salt === undefined) {
    // A store that already holds rows was written in clear; encrypting it is a migration, not
    // something to do silently on open.
    const markers = await Promise.all(clearMarkers.map((key) => inner.getMeta(key)));
    if (
      markers.some((value) => value !== undefined) ||
      (await inner.listOutbox()).length > 0 ||
      (await inner.listConflicts()).length > 0
    ) {
      throw new LocalStoreEncryptionError(
        'NOT_AN_ENCRYPTED_STORE',
        'This local store already holds unencrypted data; encryption must start on a new store',
      );
    }
    if (!Number.isSafeInteger(iterations) || iterations < 1) {
      throw new TypeError('iterations must be a positive integer');
    }
    const newSalt = randomSalt();
    const cipher = await passphraseCipher(passphrase, newSalt, iterations);
    await inner.write(
      [
        { kind: 'setMeta', key: saltKey, value: newSalt },
        { kind: 'setMeta', key: iterationsKey, value: String(iterations) },
        { kind: 'setMeta', key: checkKey, value: await cipher.encrypt(checkPlaintext, at.check) },
      ],
      { ifRevision: revision },
    );
    return cipher;
  }

  const storedIterations = Number(await inner.getMeta(iterationsKey));
  const check = await inner.getMeta(checkKey);
  if (!Number.isSafeInteger(storedIterations) || storedIterations < 1 || check === undefined) {
    throw new LocalStoreEncryptionError(
      'UNREADABLE_VALUE',
      'The encryption settings of this local store are damaged',
    );
  }
  const cipher = await passphraseCipher(passphrase, salt, storedIterations);
  try {
    if ((await cipher.decrypt(check, at.check)) === checkPlaintext) return cipher;
  } catch (error) {
    if (!(error instanceof UnreadableCiphertextError)) throw error;
  }
  throw new LocalStoreEncryptionError(
    'WRONG_PASSPHRASE',
    'The passphrase does not open this encrypted local store',
  );
}

class EncryptedLocalStore implements LocalStore {
  /** Inner writes are issued in call order, though each call's encryption takes its own time. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(
    private readonly inner: LocalStore,
    private readonly cipher: StringCipher,
  ) {}

  async getMeta(key: string): Promise<string | undefined> {
    const value = await this.inner.getMeta(key);
    if (value === undefined || reservedKeys.has(key)) return value;
    return this.#open(value, at.meta(key));
  }

  async getEntity(type: string, id: string): Promise<EntityRow | undefined> {
    const row = await this.inner.getEntity(type, id);
    return row && this.#openEntity(row);
  }

  async listEntities(type: string): Promise<EntityRow[]> {
    return Promise.all((await this.inner.listEntities(type)).map((row) => this.#openEntity(row)));
  }

  /**
   * Answered by the inner store from the indexed fields, which are kept in clear: only the rows
   * the query returns are decrypted.
   */
  async queryEntities(type: string, query: StorageQuery): Promise<EntityRow[]> {
    return Promise.all(
      (await this.inner.queryEntities(type, query)).map((row) => this.#openEntity(row)),
    );
  }

  async listOutbox(): Promise<OutboxRow[]> {
    return Promise.all(
      (await this.inner.listOutbox()).map(async (row) => ({
        ...row,
        error: row.error === null ? null : await this.#open(row.error, at.outboxError(row)),
        body: row.body === null ? null : await this.#open(row.body, at.outboxBody(row)),
      })),
    );
  }

  async listConflicts(): Promise<ConflictRow[]> {
    return Promise.all(
      (await this.inner.listConflicts()).map(async (row) => ({
        id: row.id,
        body: await this.#open(row.body, at.conflict(row.id)),
      })),
    );
  }

  revision(): Promise<number> {
    return this.inner.revision();
  }

  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.inner.exclusive(name, fn);
  }

  watch(listener: () => void): () => void {
    return this.inner.watch(listener);
  }

  write(writes: readonly StorageWrite[], options?: WriteOptions): Promise<WriteResult> {
    let sealed: Promise<StorageWrite[]>;
    try {
      if (this.#closed) throw new LocalStoreClosedError();
      for (const write of writes) {
        assertStorageWrite(write);
        if (write.kind === 'setMeta' && reservedKeys.has(write.key)) {
          throw new InvalidStorageWriteError(`setMeta: ${write.key} is kept by the encryption`);
        }
      }
      sealed = Promise.all(writes.map((write) => this.#seal(write)));
      // Awaited once the writes before it are done; until then a failure is not yet unhandled.
      sealed.catch(() => undefined);
    } catch (error) {
      return Promise.reject(error);
    }
    const done = this.#queue.then(async () => this.inner.write(await sealed, options));
    this.#queue = done.catch(() => undefined);
    return done;
  }

  /** Lets the writes already made reach the inner store, then closes it. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    await this.inner.close();
  }

  async #seal(write: StorageWrite): Promise<StorageWrite> {
    const { cipher } = this;
    switch (write.kind) {
      case 'putEntity': {
        const { row } = write;
        const body =
          row.body === null ? null : await cipher.encrypt(row.body, at.entity(row.type, row.id));
        return { ...write, row: { ...row, body } };
      }
      case 'putOutbox':
        return { kind: 'putOutbox', row: await this.#sealOutbox(write.row) };
      case 'appendOutbox':
        return { kind: 'appendOutbox', row: await this.#sealOutbox(write.row) };
      case 'putConflict':
        return {
          kind: 'putConflict',
          row: {
            id: write.row.id,
            body: await cipher.encrypt(write.row.body, at.conflict(write.row.id)),
          },
        };
      case 'setMeta':
        return write.value === null
          ? write
          : { ...write, value: await cipher.encrypt(write.value, at.meta(write.key)) };
      default:
        return write;
    }
  }

  async #sealOutbox<R extends Omit<OutboxRow, 'seq'>>(row: R): Promise<R> {
    const { cipher } = this;
    return {
      ...row,
      error: row.error === null ? null : await cipher.encrypt(row.error, at.outboxError(row)),
      body: row.body === null ? null : await cipher.encrypt(row.body, at.outboxBody(row)),
    };
  }

  async #openEntity(row: EntityRow): Promise<EntityRow> {
    if (row.body === null) return row;
    return { ...row, body: await this.#open(row.body, at.entity(row.type, row.id)) };
  }

  async #open(ciphertext: string, context: string): Promise<string> {
    try {
      return await this.cipher.decrypt(ciphertext, context);
    } catch (error) {
      if (error instanceof UnreadableCiphertextError) {
        throw new LocalStoreEncryptionError('UNREADABLE_VALUE', error.message);
      }
      throw error;
    }
  }
}
