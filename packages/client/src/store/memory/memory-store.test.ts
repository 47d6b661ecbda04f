import { runLocalStoreConformance } from '../../testing/local-store-conformance.js';
import { memoryStorage } from './memory-store.js';

runLocalStoreConformance('memoryStorage', async () => memoryStorage());
