// Raft consensus core (pure logic). See node.ts for the algorithm and types.ts for the contracts.
export { RaftNode } from './node.ts';
export { MemoryRaftStorage } from './storage.ts';
export { FileRaftStorage, jsonCommandCodec, type FileRaftStorageOptions, type RaftCommandCodec, type RaftLogRecovery } from './file-storage.ts';
export type * from './types.ts';
