// Opens the signed-in user's sync client and says in words why it could not be opened.
import { LocalStoreEncryptionError, type SyncClient } from '@syncline/client';
import { createFieldClient } from './field-client.js';
import type { TokenClaims } from './token.js';

export class OpenError extends Error {
  override readonly name = 'OpenError';
}

const encryptionMessages: Record<string, string> = {
  WRONG_PASSPHRASE: 'That passphrase does not open the data on this device.',
  NOT_AN_ENCRYPTED_STORE:
    'This device already keeps your data without encryption. Sign in without a passphrase.',
};

export async function openClient(input: {
  claims: TokenClaims;
  getToken: () => string | Promise<string>;
  passphrase?: string | undefined;
}): Promise<{ client: SyncClient; deviceId: string }> {
  const client = createFieldClient({ ...input, url: location.origin });
  try {
    await client.ready();
    return { client, deviceId: await client.deviceId() };
  } catch (error) {
    await client.close().catch(() => undefined);
    if (error instanceof LocalStoreEncryptionError) {
      throw new OpenError(encryptionMessages[error.code] ?? error.message);
    }
    throw new OpenError(
      `The data on this device could not be opened: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
