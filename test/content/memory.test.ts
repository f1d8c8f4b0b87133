import { MemoryContentStore } from '../../src/content/memory.ts';
import { contentStoreConformance } from './conformance.ts';

contentStoreConformance('memory', async () => new MemoryContentStore());
