// Where a push may raise its device's mutation mark. The mark says "every seq at or below me
// reached a stored outcome", so a replay at or below it whose record is gone (pruned) must have
// applied before. A change that left no mutation record (refused as bad input, or failed and
// rolled back) may come again under its seq, so the mark stays below it, even when changes with
// higher seqs in the same batch were stored.
export interface MarkTracker {
  /** One change of the batch: its seq (if the client numbered it) and whether a record remains. */
  note(seq: number | undefined, recorded: boolean): void;
  /** The highest seq the mark may rise to after this batch (0: none). */
  highest(): number;
}

export function createMarkTracker(): MarkTracker {
  let lowestUnrecorded = Infinity;
  const recordedSeqs: number[] = [];
  return {
    note(seq, recorded) {
      if (seq === undefined) return;
      if (recorded) recordedSeqs.push(seq);
      else lowestUnrecorded = Math.min(lowestUnrecorded, seq);
    },
    highest() {
      let best = 0;
      for (const seq of recordedSeqs) if (seq < lowestUnrecorded && seq > best) best = seq;
      return best;
    },
  };
}
