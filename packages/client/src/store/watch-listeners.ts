// The listeners of LocalStore.watch, kept by each adapter.
/** Each listener is called in turn; one that throws does not stop the rest. */
export class WatchListeners {
  private readonly listeners = new Set<() => void>();

  get size(): number {
    return this.listeners.size;
  }

  add(listener: () => void): () => void {
    // A wrapper, so that the same function watched twice is two subscriptions.
    const entry = () => listener();
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  notify(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the write it reports has committed.
      }
    }
  }
}
