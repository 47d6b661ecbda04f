// Conflict resolution as a pure function: given a detected conflict, the three states and a
// strategy, decide what the server keeps. SERVER_WINS and MANUAL change nothing; the losing copy
// always survives in the conflict record.
import type { ConflictStatus, ConflictStrategy, ConflictType, Operation } from '@syncline/protocol';
import type { FieldPolicy } from './collections.js';
import { isDisjointEdit, threeWayMerge } from './merge.js';
import type { JsonObject } from './ports.js';

export interface ConflictInput {
  type: ConflictType;
  strategy: ConflictStrategy;
  operation: Operation;
  /** The version the device edited (null when unknown or for a create). */
  base: JsonObject | null;
  /** The server's current payload (null for a tombstone). */
  server: JsonObject | null;
  /** The device's full copy after its edit (null for a delete). */
  client: JsonObject | null;
  clientTime: string;
  serverTime: string;
  policies: Readonly<Record<string, FieldPolicy>>;
  /** CLIENT_WINS is allowed for this actor (false when restricted to admins). */
  clientMayWin: boolean;
}

export interface ConflictDecision {
  /** 'write': store `data` as the next version (null = tombstone); 'keep': the server copy stays. */
  action: 'write' | 'keep';
  data: JsonObject | null;
  status: ConflictStatus;
  resolution: ConflictStrategy | null;
  overlapping?: string[];
}

const review = (overlapping?: string[]): ConflictDecision => ({
  action: 'keep',
  data: null,
  status: 'PENDING_REVIEW',
  resolution: null,
  ...(overlapping ? { overlapping } : {}),
});
const keepServer = (resolution: ConflictStrategy): ConflictDecision => ({
  action: 'keep',
  data: null,
  status: 'RESOLVED',
  resolution,
});
const writeClient = (input: ConflictInput, resolution: ConflictStrategy): ConflictDecision => ({
  action: 'write',
  data: input.client,
  status: 'RESOLVED',
  resolution,
});

export function resolveConflict(input: ConflictInput): ConflictDecision {
  switch (input.strategy) {
    case 'MANUAL':
      return review();
    case 'SERVER_WINS':
      return keepServer('SERVER_WINS');
    case 'CLIENT_WINS':
      return input.clientMayWin ? writeClient(input, 'CLIENT_WINS') : review();
    case 'LAST_WRITE_WINS':
      // The later edit wins; a tie keeps the server's copy.
      return Date.parse(input.clientTime) > Date.parse(input.serverTime)
        ? writeClient(input, 'LAST_WRITE_WINS')
        : keepServer('LAST_WRITE_WINS');
    case 'MERGE':
      return mergeDecision(input);
  }
}

function mergeDecision(input: ConflictInput): ConflictDecision {
  // A delete, a tombstone or a moved clock time has no fields to merge: a person decides.
  if (!input.server || !input.client || input.type === 'TIME_MISMATCH') return review();
  const { merged, overlapping } = threeWayMerge({
    base: input.base,
    server: input.server,
    client: input.client,
    policies: input.policies,
    clientIsLater: Date.parse(input.clientTime) > Date.parse(input.serverTime),
  });
  if (overlapping.length > 0) return review(overlapping);
  return { action: 'write', data: merged, status: 'RESOLVED', resolution: 'MERGE' };
}

/**
 * The suggestion for a person or a device: disjoint field edits suggest MERGE; otherwise a
 * server edited more recently suggests SERVER_WINS; otherwise the user's own change (CLIENT_WINS).
 */
export function suggestResolution(
  input: Omit<ConflictInput, 'strategy' | 'policies' | 'clientMayWin'>,
): ConflictStrategy {
  const serverIsLater = Date.parse(input.serverTime) > Date.parse(input.clientTime);
  if (
    input.server &&
    input.client &&
    input.type !== 'TIME_MISMATCH' &&
    isDisjointEdit({
      base: input.base,
      server: input.server,
      client: input.client,
      clientIsLater: !serverIsLater,
    })
  ) {
    return 'MERGE';
  }
  return serverIsLater ? 'SERVER_WINS' : 'CLIENT_WINS';
}
