// What a browser gives the Asset Manager PWA and Node does not: an IndexedDB-like key-value
// store, and navigator.onLine with its 'online' event (which triggers background sync, as the
// service worker's 'sync-all' tag does in the PWA).

/** The async key-value part of IndexedDB the client uses; values are cloned like structured clone. */
export class MemoryKeyValueStore {
  readonly #data = new Map<string, string>();

  async get<T>(key: string): Promise<T | undefined> {
    const text = this.#data.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.#data.set(key, JSON.stringify(value));
  }

  async delete(key: string): Promise<void> {
    this.#data.delete(key);
  }
}

type Listener = () => void;

/** navigator.onLine plus window's 'online' / 'offline' events. */
export class Connectivity {
  #online: boolean;
  readonly #listeners = { online: new Set<Listener>(), offline: new Set<Listener>() };

  constructor(online = true) {
    this.#online = online;
  }

  get onLine(): boolean {
    return this.#online;
  }

  addEventListener(type: 'online' | 'offline', listener: Listener): void {
    this.#listeners[type].add(listener);
  }

  removeEventListener(type: 'online' | 'offline', listener: Listener): void {
    this.#listeners[type].delete(listener);
  }

  goOffline(): void {
    if (!this.#online) return;
    this.#online = false;
    for (const listener of this.#listeners.offline) listener();
  }

  goOnline(): void {
    if (this.#online) return;
    this.#online = true;
    for (const listener of this.#listeners.online) listener();
  }
}
