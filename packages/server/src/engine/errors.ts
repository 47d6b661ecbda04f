// Engine errors carry a protocol error code; only the HTTP layer maps codes to status codes.
import { errorCodes, type ErrorCode } from '@syncline/protocol';

export class SyncError extends Error {
  override readonly name = 'SyncError';
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: unknown,
  ) {
    // Without a message of its own, the registry's: a person reads it, not the code twice.
    super(message ?? errorCodes[code].message);
  }
}

export function isSyncError(error: unknown): error is SyncError {
  return error instanceof SyncError;
}
