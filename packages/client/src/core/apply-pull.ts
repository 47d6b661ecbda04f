// Applying server changes to the confirmed store. Writes are staged first so that a push
// response (its pulled page, its acknowledgements, its outbox removals) commits as one atomic
// LocalStore write, and later steps of the same response read what earlier steps staged.
import type { ServerChange } from '@syncline/protocol';
import type { EntityRow, LocalStore, StorageWrite } from './ports.js';

const keyOf = (type: string, id: string) => `${type}\u0000${id}`;

export class StagedEntities {
  private readonly staged = new Map<string, EntityRow | null>();
  private cleared = false;
  private readonly writeList: StorageWrite[] = [];
  /** Entity types this stage touched, for change notifications. */
  readonly touchedTypes = new Set<string>();
  /** Set by a reset: every type may have changed. */
  touchedAll = false;

  constructor(private readonly storage: LocalStore) {}

  async get(type: string, id: string): Promise<EntityRow | undefined> {
    const key = keyOf(type, id);
    if (this.staged.has(key)) return this.staged.get(key) ?? undefined;
    if (this.cleared) return undefined;
    return this.storage.getEntity(type, id);
  }

  put(row: EntityRow): void {
    this.staged.set(keyOf(row.type, row.id), row);
    this.writeList.push({ kind: 'putEntity', row });
    this.touchedTypes.add(row.type);
  }

  remove(type: string, id: string): void {
    this.staged.set(keyOf(type, id), null);
    this.writeList.push({ kind: 'removeEntity', type, id });
    this.touchedTypes.add(type);
  }

  /** A reset: the server sends everything afresh, so the confirmed store starts empty. */
  clear(): void {
    this.staged.clear();
    this.cleared = true;
    this.touchedAll = true;
    this.writeList.push({ kind: 'clearEntities' });
  }

  /** The entities put or removed (not those a reset cleared). */
  touchedEntities(): Array<{ type: string; id: string }> {
    return [...this.staged.keys()].map((key) => {
      const at = key.indexOf('\u0000');
      return { type: key.slice(0, at), id: key.slice(at + 1) };
    });
  }

  writes(): StorageWrite[] {
    return [...this.writeList];
  }
}

/** The confirmed row a server change leaves behind. */
export function rowOf(change: ServerChange): EntityRow {
  const deleted = change.operation === 'DELETE' || change.payload === null;
  return {
    type: change.entityType,
    id: change.entityId,
    version: change.version,
    deleted,
    body: deleted ? null : JSON.stringify(change.payload),
  };
}

/**
 * Stages a page of server changes, in feed order. A revoked change removes the local copy (the
 * entity left this reader's view); a version older than the one held is skipped, because the
 * device may already hold the newer state from its own acknowledged push.
 */
export async function stagePulledChanges(
  stage: StagedEntities,
  changes: readonly ServerChange[],
): Promise<void> {
  for (const change of changes) {
    if (change.revoked) {
      stage.remove(change.entityType, change.entityId);
      continue;
    }
    const held = await stage.get(change.entityType, change.entityId);
    if (held && held.version > change.version) continue;
    stage.put(rowOf(change));
  }
}
