// The engine's Crypto port on node:crypto: sha256 checksums and random UUIDs.
import * as nodeCryptoModule from 'node:crypto';
import type { Crypto } from '../engine/ports.js';

/**
 * Node's one-shot `crypto.hash` (Node 20.12 and later): every change a push writes gets a
 * checksum, and a Hash object per call (createHash, update, digest) cost about twice as much.
 */
const oneShotHash = (nodeCryptoModule as { hash?: typeof nodeCryptoModule.hash }).hash;

export const nodeCrypto: Crypto = {
  sha256Hex: oneShotHash
    ? (text) => oneShotHash('sha256', text, 'hex')
    : (text) => nodeCryptoModule.createHash('sha256').update(text, 'utf8').digest('hex'),
  newId: () => nodeCryptoModule.randomUUID(),
};
