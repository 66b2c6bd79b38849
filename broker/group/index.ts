// Classic consumer-group coordinator and the durable committed-offsets store.
export { GroupCoordinator, DEFAULT_NEW_MEMBER_JOIN_TIMEOUT_MS } from './coordinator.ts';
export { FileOffsetStore, OFFSETS_FILE, type FileOffsetStoreOptions } from './file-offset-store.ts';
export { MemoryOffsetStore, type OffsetEntry, type OffsetStore } from './offset-store.ts';
export * from './types.ts';
