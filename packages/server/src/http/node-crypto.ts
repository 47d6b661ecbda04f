// The engine's Crypto port on node:crypto: sha256 checksums and random UUIDs.
import { createHash, randomUUID } from 'node:crypto';
import type { Crypto } from '../engine/ports.js';

export const nodeCrypto: Crypto = {
  sha256Hex: (text) => createHash('sha256').update(text, 'utf8').digest('hex'),
  newId: () => randomUUID(),
};
