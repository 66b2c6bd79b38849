// Shared helpers for the FileRaftStorage tests: temp directories and storages closed/removed after each test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileRaftStorage, RAFT_LOG_FILE, type FileRaftStorageOptions } from '../../broker/cluster/raft/file-storage.ts';
import type { LogEntry } from '../../broker/cluster/raft/types.ts';

export interface Cmd {
  readonly k: number;
  readonly s: string;
}
export type Entry = LogEntry<Cmd>;

const dirs: string[] = [];
const open: { close(): void }[] = [];

/** For afterEach: closes every storage opened through openStorage and removes every tempDir. */
export function cleanup(): void {
  for (const s of open.splice(0)) s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-file-storage-'));
  dirs.push(d);
  return d;
}

export function openStorage<C = Cmd>(dir: string, opts?: FileRaftStorageOptions<C>): FileRaftStorage<C> {
  const s = new FileRaftStorage<C>(dir, opts);
  open.push(s);
  return s;
}

export function reopen<C>(s: FileRaftStorage<C>, opts?: FileRaftStorageOptions<C>): FileRaftStorage<C> {
  s.close();
  return openStorage<C>(s.dir, opts);
}

export function cmd(index: number, term: number, k = index, s = `cmd-${index}`): Entry {
  return { index, term, kind: 'command', command: { k, s } };
}

export function noop(index: number, term: number): Entry {
  return { index, term, kind: 'noop' };
}

/** Every entry the storage's log holds (after its snapshot, if any). */
export function all<C>(s: { lastIndex(): number; entries(from: number, to: number): LogEntry<C>[] }): LogEntry<C>[] {
  return s.entries(1, s.lastIndex() + 1);
}

export const logSize = (dir: string): number => fs.statSync(path.join(dir, RAFT_LOG_FILE)).size;
