// Lets the event loop run between chunks of bounded work: database calls that answer at once
// (better-sqlite3) resolve as microtasks, so a long loop of them would otherwise keep every other
// request, of every tenant, waiting until it ends.
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
