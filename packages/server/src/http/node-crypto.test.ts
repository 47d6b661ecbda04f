import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from './node-crypto.js';

describe('nodeCrypto.sha256Hex', () => {
  it('hashes the UTF-8 bytes of the text, as a Hash object does', () => {
    for (const text of ['', '{"a":1}', 'Zoë — 東京 🚲', '\u0000x'.repeat(1000)]) {
      expect(nodeCrypto.sha256Hex(text)).toBe(
        createHash('sha256').update(text, 'utf8').digest('hex'),
      );
    }
  });
});
