// Engine errors carry a protocol error code; only the HTTP layer maps codes to status codes.
import type { ErrorCode } from '@syncline/protocol';

export class SyncError extends Error {
  override readonly name = 'SyncError';
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: unknown,
  ) {
    super(message ?? code);
  }
}

export function isSyncError(error: unknown): error is SyncError {
  return error instanceof SyncError;
}
