// Named exclusive sections among the callers of one JavaScript realm: each section for a name
// starts once the previous one for that name has settled, whatever it did.
export class InProcessLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(name) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.tails.set(name, tail);
    // Forget a name nobody waits on, so that the map does not grow with every name ever used.
    void tail.then(() => {
      if (this.tails.get(name) === tail) this.tails.delete(name);
    });
    return run;
  }
}
