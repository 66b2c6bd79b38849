// A simulated disk for power-loss tests, in the manner of TigerBeetle's storage simulator: it implements the log's
// Storage interface (broker/log/storage.ts) over real files in a temporary directory, and remembers, for every file
// it saw, what was fsynced and what was written since; for every directory, which entries were there at its last
// fsync. At a power cut (crash()) it rewrites the real files to what a disk could hold after losing power:
//  - a file keeps its fsynced content; each write since the last fsync is independently dropped, kept, or torn (a
//    random prefix of it kept), and each truncation kept or lost; a dropped write before a kept one leaves zeros;
//  - a directory keeps the entries it had at its last fsync: unsynced creates vanish, unsynced renames and deletes
//    are undone (the old file comes back with its own crash content).
// It can also cut the power by itself after a given number of storage calls (cutAfter), in the middle of an
// operation: that call and every later one throw PowerCut.
//
// Simplifications: directories themselves are durable once created; files the simulator never saw (written by code
// that does not go through Storage) are left as they are. Descriptors are real, so reads work on them directly.
import fs from 'node:fs';
import path from 'node:path';
import type { Storage } from '../../broker/log/storage.ts';

export class PowerCut extends Error {
  constructor(call: number) {
    super(`simulated power cut at storage call ${call}`);
  }
}

type Op = { kind: 'write'; pos: number; data: Buffer } | { kind: 'truncate'; len: number };

interface Inode {
  /** What the file holds now (as the page cache would). */
  content: Buffer;
  size: number;
  /** What it held at its last fsync. */
  durable: Buffer;
  /** Changes since then, in order. */
  pending: Op[];
}

const O = fs.constants;
const STRING_FLAGS: Record<string, number> = {
  r: O.O_RDONLY,
  'r+': O.O_RDWR,
  w: O.O_WRONLY | O.O_CREAT | O.O_TRUNC,
  wx: O.O_WRONLY | O.O_CREAT | O.O_TRUNC | O.O_EXCL,
  'w+': O.O_RDWR | O.O_CREAT | O.O_TRUNC,
};

export class SimDisk implements Storage {
  private readonly inodes: Inode[] = [];
  /** Current directory entries: absolute path → inode number. */
  private readonly names = new Map<string, number>();
  /** Entries of each directory at its last fsync. */
  private readonly durableDirs = new Map<string, Map<string, number>>();
  private readonly fds = new Map<number, { ino: number; pos: number }>();
  private calls = 0;
  dead = false;
  /** Storage calls made so far (to choose cut points). */
  get callCount(): number {
    return this.calls;
  }

  constructor(
    private readonly rand: () => number,
    private readonly cutAfter = Infinity,
  ) {}

  private step(): void {
    this.calls++;
    if (this.dead || this.calls > this.cutAfter) {
      this.dead = true;
      throw new PowerCut(this.calls);
    }
  }

  private inode(fd: number): Inode | undefined {
    const f = this.fds.get(fd);
    return f ? this.inodes[f.ino] : undefined;
  }

  private newInode(content: Buffer, durable: boolean): number {
    this.inodes.push({ content, size: content.length, durable: durable ? Buffer.from(content) : Buffer.alloc(0), pending: [] });
    return this.inodes.length - 1;
  }

  private apply(node: Inode, op: Op): void {
    node.pending.push(op);
    applyTo(node, op);
  }

  open(file: string, flags: number | string, mode?: number): number {
    this.step();
    const abs = path.resolve(file);
    const f = typeof flags === 'string' ? STRING_FLAGS[flags] : flags;
    if (f === undefined) throw new Error(`SimDisk: unsupported open flags ${String(flags)}`);
    const existed = fs.existsSync(abs);
    const fd = fs.openSync(abs, f, mode);
    let ino = this.names.get(abs);
    if (ino === undefined) {
      // A file from before the simulation is on disk (durable); a new one is not in its directory yet.
      ino = this.newInode(existed ? fs.readFileSync(abs) : Buffer.alloc(0), existed);
      this.names.set(abs, ino);
      if (existed) this.durableDir(path.dirname(abs)).set(abs, ino);
    }
    if (f & O.O_TRUNC) this.apply(this.inodes[ino], { kind: 'truncate', len: 0 });
    this.fds.set(fd, { ino, pos: 0 });
    return fd;
  }

  private durableDir(dir: string): Map<string, number> {
    let m = this.durableDirs.get(dir);
    if (!m) this.durableDirs.set(dir, (m = new Map()));
    return m;
  }

  write(fd: number, buf: Buffer, offset: number, length: number, position: number | null): number {
    this.step();
    const n = fs.writeSync(fd, buf, offset, length, position);
    const f = this.fds.get(fd);
    if (f) {
      const pos = position ?? f.pos;
      if (position === null) f.pos += n;
      this.apply(this.inodes[f.ino], { kind: 'write', pos, data: Buffer.from(buf.subarray(offset, offset + n)) });
    }
    return n;
  }

  fsync(fd: number): void {
    this.step();
    const node = this.inode(fd);
    if (node) {
      node.durable = Buffer.from(node.content.subarray(0, node.size));
      node.pending = [];
    }
  }

  fdatasync(fd: number): void {
    this.fsync(fd);
    this.calls--; // one call, not two
  }

  ftruncate(fd: number, length: number): void {
    this.step();
    fs.ftruncateSync(fd, length);
    const node = this.inode(fd);
    if (node) this.apply(node, { kind: 'truncate', len: length });
  }

  close(fd: number): void {
    // After the power cut its descriptors are closed already (and their numbers may be reused): nothing to do.
    if (!this.fds.delete(fd)) return;
    fs.closeSync(fd);
    this.step(); // the descriptor is gone either way
  }

  rename(from: string, to: string): void {
    this.step();
    const a = path.resolve(from);
    const b = path.resolve(to);
    fs.renameSync(a, b);
    const ino = this.names.get(a);
    this.names.delete(a);
    if (ino !== undefined) this.names.set(b, ino);
    else this.names.delete(b);
  }

  unlink(file: string): void {
    this.step();
    const abs = path.resolve(file);
    fs.rmSync(abs, { force: true });
    this.names.delete(abs);
  }

  mkdir(dir: string): void {
    this.step();
    fs.mkdirSync(dir, { recursive: true });
  }

  fsyncDir(dir: string): void {
    this.step();
    const abs = path.resolve(dir);
    const m = new Map<string, number>();
    for (const [p, ino] of this.names) if (path.dirname(p) === abs) m.set(p, ino);
    this.durableDirs.set(abs, m);
  }

  /**
   * The power cut: every later call throws, and the real files become what survived (see the header). Returns the
   * number of unsynced changes that were at stake, for the test's statistics.
   */
  crash(): number {
    this.dead = true;
    for (const fd of this.fds.keys()) fs.closeSync(fd);
    this.fds.clear();
    const survivors = new Map<number, Buffer>();
    let atStake = 0;
    const contentAfter = (ino: number): Buffer => {
      let b = survivors.get(ino);
      if (!b) {
        const node = this.inodes[ino];
        atStake += node.pending.length;
        const after: Inode = { content: Buffer.from(node.durable), size: node.durable.length, durable: node.durable, pending: [] };
        for (const op of node.pending) {
          const r = this.rand();
          if (op.kind === 'truncate') {
            if (r < 0.5) applyTo(after, op);
          } else if (r < 1 / 3) {
            applyTo(after, op);
          } else if (r < 2 / 3) {
            applyTo(after, { kind: 'write', pos: op.pos, data: op.data.subarray(0, Math.floor(this.rand() * op.data.length)) });
          } // else dropped
        }
        b = after.content.subarray(0, after.size);
        survivors.set(ino, b);
      }
      return b;
    };
    const dirs = new Set<string>(this.durableDirs.keys());
    for (const p of this.names.keys()) dirs.add(path.dirname(p));
    for (const dir of dirs) {
      const keep = this.durableDirs.get(dir) ?? new Map<string, number>();
      for (const p of this.names.keys()) if (path.dirname(p) === dir && !keep.has(p)) fs.rmSync(p, { force: true });
      for (const [p, ino] of keep) fs.writeFileSync(p, contentAfter(ino));
    }
    return atStake;
  }
}

function applyTo(node: Inode, op: Op): void {
  if (op.kind === 'truncate') {
    if (op.len < node.size) node.content.fill(0, op.len, node.size);
    node.size = op.len;
    grow(node, op.len);
    return;
  }
  const end = op.pos + op.data.length;
  grow(node, end);
  op.data.copy(node.content, op.pos);
  if (end > node.size) node.size = end;
}

function grow(node: Inode, size: number): void {
  if (size <= node.content.length) return;
  const next = Buffer.alloc(Math.max(size, node.content.length * 2, 256));
  node.content.copy(next, 0, 0, node.size);
  node.content = next;
}
