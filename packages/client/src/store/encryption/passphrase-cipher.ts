// AES-256-GCM over strings with WebCrypto (browsers, workers, Node 20+), under a key derived from a
// passphrase with PBKDF2-SHA256. Each value gets a random 96-bit IV; the additional data binds a
// ciphertext to where it is kept, so one row's ciphertext cannot be moved into another row.

const ivBytes = 12;
const saltBytes = 16;
/** Marks a value as ciphertext of this format, and lets the format change one day. */
const prefix = 'enc1:';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A stored value this key cannot open: another passphrase, a tampered row, or plaintext. */
export class UnreadableCiphertextError extends Error {
  override readonly name = 'UnreadableCiphertextError';
}

export interface StringCipher {
  encrypt(plaintext: string, context: string): Promise<string>;
  /** Throws UnreadableCiphertextError unless `ciphertext` was encrypted under this key and context. */
  decrypt(ciphertext: string, context: string): Promise<string>;
}

function subtle(): SubtleCrypto {
  const subtleCrypto = globalThis.crypto?.subtle;
  if (!subtleCrypto) {
    throw new Error(
      'Encryption at rest needs WebCrypto (crypto.subtle): a secure context or Node 20+',
    );
  }
  return subtleCrypto;
}

export function randomSalt(): string {
  return toBase64(globalThis.crypto.getRandomValues(new Uint8Array(saltBytes)));
}

/** Derives the AES-GCM key (not extractable) from a passphrase and a base64 salt. */
export async function passphraseCipher(
  passphrase: string,
  salt: string,
  iterations: number,
): Promise<StringCipher> {
  const material = await subtle().importKey('raw', encoder.encode(passphrase), 'PBKDF2', false, [
    'deriveKey',
  ]);
  const key = await subtle().deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: fromBase64(salt), iterations },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );

  return {
    async encrypt(plaintext, context) {
      const iv = globalThis.crypto.getRandomValues(new Uint8Array(ivBytes));
      const sealed = await subtle().encrypt(
        { name: 'AES-GCM', iv, additionalData: encoder.encode(context) },
        key,
        encoder.encode(plaintext),
      );
      const out = new Uint8Array(ivBytes + sealed.byteLength);
      out.set(iv);
      out.set(new Uint8Array(sealed), ivBytes);
      return prefix + toBase64(out);
    },
    async decrypt(ciphertext, context) {
      if (!ciphertext.startsWith(prefix)) {
        throw new UnreadableCiphertextError(
          `the value kept for ${describe(context)} is not encrypted`,
        );
      }
      try {
        const bytes = fromBase64(ciphertext.slice(prefix.length));
        const opened = await subtle().decrypt(
          {
            name: 'AES-GCM',
            iv: bytes.subarray(0, ivBytes),
            additionalData: encoder.encode(context),
          },
          key,
          bytes.subarray(ivBytes),
        );
        return decoder.decode(opened);
      } catch {
        throw new UnreadableCiphertextError(
          `the value kept for ${describe(context)} cannot be decrypted`,
        );
      }
    },
  };
}

const describe = (context: string) => context.replaceAll('\u0000', ' ');

// btoa/atob exist in browsers and Node alike; they take "binary strings", built in chunks so that
// a large body does not overflow the argument list of String.fromCharCode.
function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
