import { runLocalStoreConformance } from '../../testing/local-store-conformance.js';
import type { LocalStore } from '../../core/ports.js';
import { memoryStorage } from './memory-store.js';

// Nothing but the object memoryStorage() returned reaches its data: two writers share it.
let last: LocalStore | undefined;
runLocalStoreConformance('memoryStorage', {
  open: async () => (last = memoryStorage()),
  twin: async () => last!,
});
