/**
 * A process's memory of the member id it has in one consumer group, so that its next incarnation
 * can remove it. A member that dies without leaving (kill -9) stays in its group until its session
 * runs out (10 s in the hub wiring), and a restarted process's JoinGroup waits for it: the dead
 * member is expected to rejoin. Removing it first (LeaveGroup, what a clean stop sends) lets the
 * join complete at once, which is what a clean restart gets anyway.
 *
 * One small JSON file per group in the process's own folder (an instance's state folder: one live
 * process per folder, so a member id found there belongs to a dead predecessor or to nobody). It is
 * written when the member id changes (a process's first join, or a rejoin after its member was
 * expired), with a rename so a crash never leaves half a file. Not fsynced: kill -9 keeps the page
 * cache; after a machine crash the worst case is the session wait this avoids.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { leaveGroupAs, type LeaveOutcome } from './leave-group.ts';

export interface MemberMemoryOptions {
  /** The process's own folder. */
  dir: string;
  groupId: string;
  /** For the LeaveGroup: bootstrap brokers and the client id to send. */
  brokers: readonly string[];
  clientId: string;
  /** How long the removal may take before the join goes ahead regardless. */
  leaveTimeoutMs: number;
  log: (line: string) => void;
}

interface Remembered {
  groupId: string;
  memberId: string;
}

/** The file of a group's member id inside `dir` (the group id made file-name safe, plus a hash against collisions). */
export function memberFileOf(dir: string, groupId: string): string {
  const safe = groupId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120);
  let h = 0;
  for (const c of groupId) h = (Math.imul(h, 31) + (c.codePointAt(0) ?? 0)) >>> 0;
  return path.join(dir, `kafka-member.${safe}.${h.toString(16)}.json`);
}

export class MemberMemory {
  readonly file: string;
  private remembered: string | null;
  private previousHandled = false;

  constructor(private readonly o: MemberMemoryOptions) {
    this.file = memberFileOf(o.dir, o.groupId);
    this.remembered = this.read();
  }

  /** The member id the file holds (the previous incarnation's until this one joins). */
  get memberId(): string | null {
    return this.remembered;
  }

  /**
   * Removes the previous incarnation's member from the group, once per process; resolves with what
   * happened (null when there was nothing to remove). Never throws: a failure only means the join
   * waits for the dead member's session, as it would without this.
   */
  async leavePrevious(): Promise<LeaveOutcome | null> {
    if (this.previousHandled) return null;
    this.previousHandled = true;
    const memberId = this.remembered;
    if (memberId === null) return null;
    const startedMs = Date.now();
    const outcome = await leaveGroupAs({ brokers: this.o.brokers, clientId: this.o.clientId, groupId: this.o.groupId, memberId, timeoutMs: this.o.leaveTimeoutMs });
    const tookMs = Date.now() - startedMs;
    if (outcome.kind === 'left') this.o.log(`hub group ${this.o.groupId}: removed the previous incarnation's member ${memberId} (${tookMs} ms), so the join need not wait out its session`);
    else if (outcome.kind === 'failed') this.o.log(`hub group ${this.o.groupId}: could not remove the previous incarnation's member ${memberId} (${outcome.reason}); the join waits until its session ends`);
    return outcome;
  }

  /** Remembers this incarnation's member id (a no-op when unchanged); logs instead of throwing. */
  remember(memberId: string): void {
    if (memberId === '' || memberId === this.remembered) return;
    this.previousHandled = true; // from now on the file names this incarnation: never leave as it
    try {
      mkdirSync(this.o.dir, { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify({ groupId: this.o.groupId, memberId } satisfies Remembered)}\n`);
      renameSync(tmp, this.file);
      this.remembered = memberId;
    } catch (err) {
      this.o.log(`hub group ${this.o.groupId}: cannot remember member id in ${this.file}: ${(err as Error).message}`);
    }
  }

  private read(): string | null {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return null; // never joined from this folder
    }
    try {
      const r = JSON.parse(text) as Partial<Remembered>;
      if (r.groupId === this.o.groupId && typeof r.memberId === 'string' && r.memberId !== '' && r.memberId.length <= 1024) return r.memberId;
    } catch {
      // fall through
    }
    this.o.log(`hub group ${this.o.groupId}: ignoring unreadable ${this.file}`);
    return null;
  }
}
