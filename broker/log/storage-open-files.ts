// A bound on the segment files a broker holds open. Segments open their file lazily (on the first append or read)
// and register here; beyond the bound, the least recently used one is closed again and reopens on its next use.
// Without it, every partition pins a descriptor (10,000 partitions would need 10,000 of them, past most ulimits),
// and reads of old segments would pin more.
//
// Closing a descriptor never loses data: unflushed pages belong to the file, and a later fsync through a new
// descriptor flushes them.

/** Something holding one open file that it can close and reopen on demand. */
export interface LazyFile {
  closeFile(): void;
}

/** Default for --max-open-files: well under the usual 4096 soft limit, leaving room for sockets. */
export const DEFAULT_MAX_OPEN_FILES = 2000;

class OpenFiles {
  /** Least recently used first (a Map iterates in insertion order; a use moves the entry to the end). */
  private readonly lru = new Map<LazyFile, true>();
  private newest: LazyFile | null = null;
  private max = DEFAULT_MAX_OPEN_FILES;

  get limit(): number {
    return this.max;
  }

  get count(): number {
    return this.lru.size;
  }

  setLimit(n: number): void {
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`max open files must be an integer >= 1, got ${n}`);
    this.max = n;
    this.evict(null);
  }

  /** `f` just opened its file: closes the least recently used others beyond the bound. */
  opened(f: LazyFile): void {
    this.lru.set(f, true);
    this.newest = f;
    this.evict(f);
  }

  /** `f` used its open file (cheap when it is already the most recent). */
  used(f: LazyFile): void {
    if (f === this.newest) return;
    if (this.lru.delete(f)) this.lru.set(f, true);
    this.newest = f;
  }

  /** `f` closed its file. */
  closed(f: LazyFile): void {
    this.lru.delete(f);
    if (this.newest === f) this.newest = null;
  }

  private evict(keep: LazyFile | null): void {
    for (const f of this.lru.keys()) {
      if (this.lru.size <= this.max) return;
      if (f !== keep) f.closeFile(); // calls closed(f)
    }
  }
}

/** The process-wide bound on open segment files (--max-open-files). */
export const openFiles = new OpenFiles();
