// How much one push may carry: at most `batchSize` changes and `maxBatchBytes` of JSON body, the
// server's body limit. A 413 halves the next batch and caps later ones below the refused size. A
// large batch (over `largeBatchBytes`) that fails twice in a row without an answer (network, 5xx,
// timeout) is halved too, since a large upload that keeps breaking may be what breaks; a small
// one is left as it is, since an outage is not its fault. Successes grow it back.
import { limitsDefaults } from '@syncline/protocol';

/** UTF-8 bytes of a JSON text, as the server counts its body limit. */
const encoder = new TextEncoder();
export const utf8Length = (text: string): number => encoder.encode(text).length;

/** One maximum-size change: a batch larger than this is "large". */
export const largeBatchBytes = limitsDefaults.maxPayloadBytes;

export interface BatchLimits {
  changes: number;
  bytes: number;
}

export class BatchSizing {
  private changes: number;
  private bytes: number;
  /** Never grow past a size the server refused as too large. */
  private ceilingBytes: number;
  private transientFailures = 0;

  constructor(private readonly max: BatchLimits) {
    this.changes = max.changes;
    this.bytes = max.bytes;
    this.ceilingBytes = max.bytes;
  }

  get limits(): BatchLimits {
    return { changes: this.changes, bytes: this.bytes };
  }

  /** The server answered 413 for a batch of `sent`. */
  tooLarge(sent: BatchLimits): void {
    this.ceilingBytes = Math.min(this.ceilingBytes, sent.bytes - 1);
    this.halve(sent);
  }

  /** A batch of `sent` failed without a definitive answer. */
  failed(sent: BatchLimits): void {
    if (sent.changes < 2 || sent.bytes <= largeBatchBytes) return;
    this.transientFailures += 1;
    if (this.transientFailures >= 2) this.halve(sent);
  }

  succeeded(): void {
    this.transientFailures = 0;
    this.changes = Math.min(this.max.changes, this.changes * 2);
    this.bytes = Math.min(this.ceilingBytes, this.bytes * 2);
  }

  private halve(sent: BatchLimits): void {
    this.transientFailures = 0;
    this.changes = Math.max(1, Math.ceil(sent.changes / 2));
    this.bytes = Math.max(1, Math.floor(sent.bytes / 2));
  }
}
