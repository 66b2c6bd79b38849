/**
 * FileLease: "one instance at a time" among processes on one machine, through one small file. A
 * system with several instances uses it where only one of them may act: a scheduled source emits
 * from one instance, a rest-poll receiver polls from one instance. Whoever holds the lease renews
 * it on every tick(); when the holder dies (kill -9), the lease expires after ttlMs and another
 * instance takes it over. No daemon, no lock service: the file is the whole protocol.
 *
 * The file holds `{ owner, expiresAtMs }` as JSON. How it stays atomic:
 * - a free lease (no file) is taken by creating the file with O_EXCL: one creator wins;
 * - an expired (or torn, garbage, oversized) lease is first renamed away to a unique name, and
 *   only the one process whose rename moved exactly the bytes it had judged expired goes on to
 *   create the new file with O_EXCL (if the rename moved a fresh lease instead, it is linked back);
 * - the holder renews by writing a temp file and renaming it over the lease, and only while its
 *   lease has comfortably more than RENEW_MARGIN of its ttl left, so a renewal never lands on a
 *   lease someone else has taken meanwhile; a holder that is late goes through the takeover path.
 * Every tick re-reads the file and believes only what it finds there. What remains is a window of
 * microseconds in which a takeover racing a second takeover can leave two processes believing
 * they hold the lease until their next tick re-reads the file (then one of them lets go), so
 * work done under the lease should be safe to repeat (at-least-once), as all legacy work here is.
 *
 * Everything is synchronous and bounded: the lease file is read up to LEASE_BYTES_MAX, leftovers
 * of crashed writers (temp and stale files of this lease) are removed when they are older than the
 * ttl, at most LEFTOVERS_SCAN_MAX of them per acquisition. Time comes in as `nowMs` (default
 * Date.now()), so tests drive it with a fake clock; all processes must share one clock (one machine).
 */
import { closeSync, linkSync, mkdirSync, openSync, readSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

/** A lease file larger than this is garbage (treated as expired). */
export const LEASE_BYTES_MAX = 4096;
/** Owners are names of instances; longer is a mistake. */
export const LEASE_OWNER_CHARS_MAX = 200;
/** ttlMs bounds: below a tick's own cost it would flap, above an hour a dead holder blocks too long. */
export const LEASE_TTL_MS_MIN = 10;
export const LEASE_TTL_MS_MAX = 3_600_000;
/** The holder renews in place only while more than this share of the ttl is left. */
const RENEW_MARGIN = 0.25;
/** Directory entries looked at per acquisition when clearing leftovers of crashed processes. */
const LEFTOVERS_SCAN_MAX = 1000;

export interface FileLeaseOptions {
  /** The lease file; its folder is created. One file per thing only one instance may do. */
  readonly file: string;
  /** Who asks, e.g. the instance name `F.2`. A restarted process with the same owner resumes its own unexpired lease. */
  readonly owner: string;
  /** How long a lease lasts without renewal; tick at least every ttlMs / 3. */
  readonly ttlMs: number;
}

interface LeaseContent {
  readonly owner: string;
  readonly expiresAtMs: number;
}

type Found =
  | { readonly kind: 'none' }
  | { readonly kind: 'valid'; readonly raw: Buffer; readonly lease: LeaseContent }
  | { readonly kind: 'garbage'; readonly raw: Buffer };

export class FileLease {
  readonly file: string;
  readonly owner: string;
  readonly ttlMs: number;
  private holding = false;
  /** Expiry of our lease as written at the last successful tick (lease clock). */
  private expiresAtMs = 0;
  /** The lease clock at the last tick and the monotonic clock then, to age `held` between ticks. */
  private tickedAtMs = 0;
  private tickedAtPerfMs = 0;

  constructor(opts: FileLeaseOptions) {
    if (typeof opts.owner !== 'string' || opts.owner.length === 0 || opts.owner.length > LEASE_OWNER_CHARS_MAX) {
      throw new RangeError(`a lease owner is 1 to ${LEASE_OWNER_CHARS_MAX} characters, got ${JSON.stringify(String(opts.owner).slice(0, 40))}`);
    }
    if (!Number.isInteger(opts.ttlMs) || opts.ttlMs < LEASE_TTL_MS_MIN || opts.ttlMs > LEASE_TTL_MS_MAX) {
      throw new RangeError(`lease ttlMs must be a whole number from ${LEASE_TTL_MS_MIN} to ${LEASE_TTL_MS_MAX}, got ${opts.ttlMs}`);
    }
    this.file = opts.file;
    this.owner = opts.owner;
    this.ttlMs = opts.ttlMs;
  }

  /**
   * Takes the lease if it is free or expired, renews it if we hold it. True while we hold it.
   * I/O errors other than the races above (a missing folder is created) are thrown.
   */
  tick(nowMs: number = Date.now()): boolean {
    this.tickedAtMs = nowMs;
    this.tickedAtPerfMs = performance.now();
    const found = this.read();
    if (found.kind === 'none') return this.settle(this.create(nowMs), nowMs);
    if (found.kind === 'valid' && found.lease.expiresAtMs > nowMs) {
      if (found.lease.owner !== this.owner) return this.settle(false, nowMs);
      // Ours and alive: renew in place while well inside the ttl; a late holder takes over like anyone.
      if (found.lease.expiresAtMs - nowMs > this.ttlMs * RENEW_MARGIN) {
        this.write(nowMs);
        return this.settle(this.confirm(nowMs), nowMs);
      }
    }
    return this.settle(this.takeOver(found.raw, nowMs), nowMs);
  }

  /** Held as of the last tick, and not expired since then (judged on the monotonic clock). */
  get held(): boolean {
    if (!this.holding) return false;
    const nowMs = this.tickedAtMs + (performance.now() - this.tickedAtPerfMs);
    return nowMs < this.expiresAtMs;
  }

  /** Gives the lease up at once (a clean stop), so another instance need not wait for the ttl. */
  release(): void {
    if (!this.holding) return;
    this.holding = false;
    const found = this.read();
    if (found.kind !== 'valid' || found.lease.owner !== this.owner) return;
    // Renamed away first, then checked: never delete a lease someone else wrote meanwhile.
    const aside = this.asideName('released');
    if (!this.renameIfPresent(this.file, aside)) return;
    const moved = readBounded(aside);
    if (moved && !moved.equals(found.raw)) linkBack(aside, this.file);
    rmSync(aside, { force: true });
  }

  private settle(held: boolean, nowMs: number): boolean {
    this.holding = held;
    if (held) this.expiresAtMs = nowMs + this.ttlMs;
    return held;
  }

  /** O_EXCL create: true when we created it (and it still says us). */
  private create(nowMs: number): boolean {
    mkdirSync(path.dirname(this.file), { recursive: true });
    let fd: number;
    try {
      fd = openSync(this.file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    try {
      writeSync(fd, this.content(nowMs));
    } finally {
      closeSync(fd);
    }
    this.clearLeftovers();
    return this.confirm(nowMs);
  }

  /** Moves the expired (or garbage) lease we read aside, if it is still that one, and creates ours. */
  private takeOver(expiredRaw: Buffer, nowMs: number): boolean {
    const aside = this.asideName('stale');
    if (!this.renameIfPresent(this.file, aside)) return this.create(nowMs);
    const moved = readBounded(aside);
    if (!moved || !moved.equals(expiredRaw)) {
      // Someone took it over between our read and our rename: give theirs back, keep out.
      if (moved) linkBack(aside, this.file);
      rmSync(aside, { force: true });
      return false;
    }
    rmSync(aside, { force: true });
    return this.create(nowMs);
  }

  /** The holder's renewal: temp file, then rename over the lease. */
  private write(nowMs: number): void {
    const tmp = this.asideName('tmp');
    const fd = openSync(tmp, 'wx');
    try {
      writeSync(fd, this.content(nowMs));
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(tmp, this.file);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  private confirm(nowMs: number): boolean {
    const again = this.read();
    return again.kind === 'valid' && again.lease.owner === this.owner && again.lease.expiresAtMs > nowMs;
  }

  private read(): Found {
    const raw = readBounded(this.file);
    if (raw === null) return { kind: 'none' };
    if (raw.length === 0 || raw.length > LEASE_BYTES_MAX) return { kind: 'garbage', raw };
    try {
      const v = JSON.parse(raw.toString('utf8')) as Partial<LeaseContent>;
      if (typeof v.owner === 'string' && v.owner.length > 0 && typeof v.expiresAtMs === 'number' && Number.isFinite(v.expiresAtMs)) {
        return { kind: 'valid', raw, lease: { owner: v.owner, expiresAtMs: v.expiresAtMs } };
      }
    } catch {
      // torn or foreign content: expired
    }
    return { kind: 'garbage', raw };
  }

  private content(nowMs: number): string {
    // A nonce makes every write's bytes unique, so "the bytes I judged expired" identifies one write.
    return `${JSON.stringify({ owner: this.owner, expiresAtMs: nowMs + this.ttlMs, pid: process.pid, nonce: randomBytes(6).toString('hex') })}\n`;
  }

  private asideName(what: 'tmp' | 'stale' | 'released'): string {
    return `${this.file}.${what}-${process.pid}-${randomBytes(6).toString('hex')}`;
  }

  private renameIfPresent(from: string, to: string): boolean {
    try {
      renameSync(from, to);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  /** Removes temp and stale files of this lease left by processes that died mid-tick. */
  private clearLeftovers(): void {
    const dir = path.dirname(this.file);
    const prefix = `${path.basename(this.file)}.`;
    let names: string[];
    try {
      names = readdirSync(dir).slice(0, LEFTOVERS_SCAN_MAX);
    } catch {
      return;
    }
    for (const name of names) {
      if (!name.startsWith(prefix) || !/^(tmp|stale|released)-\d+-[0-9a-f]+$/.test(name.slice(prefix.length))) continue;
      const p = path.join(dir, name);
      try {
        // Real time, not the lease clock: leftovers are aged by the file system's own clock.
        if (Date.now() - statSync(p).mtimeMs > this.ttlMs) rmSync(p, { force: true });
      } catch {
        // gone already
      }
    }
  }
}

/** A lease ticking on a timer: `onChange` hears when it is won or lost. stop() releases it. */
export interface LeaseTicker {
  readonly lease: FileLease;
  stop(): void;
}

/**
 * Ticks `lease` now and every `everyMs` (default ttlMs / 3), unref'd so it never keeps a process
 * alive. A failing tick (an I/O error) counts as not holding and is reported to `onError`.
 */
export function tickLease(lease: FileLease, o: { everyMs?: number; onChange?: (held: boolean) => void; onError?: (err: Error) => void } = {}): LeaseTicker {
  const everyMs = Math.max(1, o.everyMs ?? Math.floor(lease.ttlMs / 3));
  let last = false;
  const tick = (): void => {
    let held: boolean;
    try {
      held = lease.tick();
    } catch (e) {
      held = false;
      o.onError?.(e as Error);
    }
    if (held !== last) {
      last = held;
      o.onChange?.(held);
    }
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return {
    lease,
    stop() {
      clearInterval(timer);
      try {
        lease.release();
      } catch (e) {
        o.onError?.(e as Error);
      }
      if (last) o.onChange?.(false);
      last = false;
    },
  };
}

/** The file's bytes (at most LEASE_BYTES_MAX + 1 of them), or null when it does not exist. */
function readBounded(file: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const buf = Buffer.alloc(LEASE_BYTES_MAX + 1);
    let size = 0;
    for (;;) {
      const n = readSync(fd, buf, size, buf.length - size, null);
      if (n === 0) break;
      size += n;
      if (size >= buf.length) break;
    }
    return buf.subarray(0, size);
  } finally {
    closeSync(fd);
  }
}

/** Puts a lease we moved by mistake back, unless a new one was created meanwhile (then theirs stands). */
function linkBack(aside: string, file: string): void {
  try {
    linkSync(aside, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST' && (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
