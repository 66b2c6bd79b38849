/**
 * The ingress's memory of the events it accepted, for delivery=idempotent: a client that sends an
 * event again (it retried after a timeout, or a proxy replayed the request) gets the first answer
 * back and nothing new is emitted. Without it every POST is a new event (at-least-once).
 *
 * An event counts as accepted once it was handed over (emitted) in full; only then is it written
 * to the ledger, a journal in the instance's state folder (state/<instance>/ingress.journal, one
 * line `<kind>\t<id>\t<fingerprint>\t<atMs>\n`, appended with a plain write as the received
 * journal is: a kill -9 loses nothing written, a torn last line is skipped). A crash between the
 * hand-over and the line means the retry is emitted again, which the receivers' idempotence
 * absorbs; an event recorded as accepted and never handed over cannot happen.
 *
 * The fingerprint (sha256 of the record's canonical JSON, 64 bits) tells a true repeat from a
 * different event that reuses an id: the latter is a conflict (409), never a silent replay.
 * A repeat that comes while the first is still being handed over waits for its outcome: a replay
 * if the first was accepted, a new attempt if it failed (so a failed first never blocks a retry).
 *
 * Bounded: at most RECEIVED_IDS_MAX events are remembered (and journalled); beyond that an id is
 * not remembered, and a repeat of it is accepted as a new event, as with at-least-once. The ingress
 * system has one instance (the topology says so), so one ledger sees every request.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { canonicalJson } from '../lake/canonical.ts';
import { RECEIVED_IDS_MAX } from './core.ts';

/** The answer header of an ingress POST when records in it had been accepted before: how many (the rest were new). */
export const INGRESS_REPLAY_HEADER = 'x-idempotent-replay';

/** sha256 of the record's canonical JSON (keys sorted), first 16 hex digits. */
export function fingerprintOf(record: unknown): string {
  return createHash('sha256').update(canonicalJson(record)).digest('hex').slice(0, 16);
}

/** What a claim found: a first time (hand it over, then `settle`), a repeat of an accepted event, or the id of another event. */
export type IngressClaim =
  | { outcome: 'new'; settle(accepted: boolean): void }
  | { outcome: 'replay' }
  | { outcome: 'conflict'; reason: string };

export class IngressLedger {
  /** `kind\0id` → fingerprint. */
  private readonly accepted = new Map<string, string>();
  /** Events being handed over now: `kind\0id` → settles when that attempt ends. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private fd: number | null = null;
  /** Records answered as repeats of accepted events (nothing emitted). */
  replays = 0;
  /** Requests refused with 409: an accepted id with other content. */
  conflicts = 0;

  constructor(file: string, private readonly idsMax = RECEIVED_IDS_MAX) {
    mkdirSync(dirname(file), { recursive: true });
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    for (const line of text.split('\n')) {
      const [kind, id, fingerprint, at] = line.split('\t');
      // A torn last line (killed mid-write) has no time: the hand-over was done, the record of it not; skip it.
      if (!kind || id === undefined || !fingerprint || !at || !Number.isFinite(Number(at))) continue;
      if (this.accepted.size < this.idsMax) this.accepted.set(keyOf(kind, id), fingerprint);
    }
    this.fd = openSync(file, 'a');
    if (text.length > 0 && !text.endsWith('\n')) writeSync(this.fd, '\n');
  }

  /** Was an event of this id accepted, and with other content? Does not wait for events in flight. */
  conflictOf(kind: string, id: string, fingerprint: string): string | null {
    const known = this.accepted.get(keyOf(kind, id));
    return known !== undefined && known !== fingerprint ? `${kind} ${id} was accepted before with other content` : null;
  }

  /**
   * Claims an event for hand-over. Waits while another request hands over the same id. A `new`
   * claim must be settled (accepted or not) whatever happens, or repeats of it wait forever.
   */
  async claim(kind: string, id: string, fingerprint: string): Promise<IngressClaim> {
    const key = keyOf(kind, id);
    for (let busy = this.inFlight.get(key); busy; busy = this.inFlight.get(key)) await busy;
    const conflict = this.conflictOf(kind, id, fingerprint);
    if (conflict) {
      this.conflicts++;
      return { outcome: 'conflict', reason: conflict };
    }
    if (this.accepted.has(key)) {
      this.replays++;
      return { outcome: 'replay' };
    }
    let done = (): void => undefined;
    this.inFlight.set(key, new Promise<void>((resolve) => (done = resolve)));
    let settled = false;
    return {
      outcome: 'new',
      settle: (accepted) => {
        if (settled) return;
        settled = true;
        if (accepted && this.accepted.size < this.idsMax) {
          this.accepted.set(key, fingerprint);
          if (this.fd !== null) writeSync(this.fd, `${kind}\t${id}\t${fingerprint}\t${Date.now()}\n`);
        }
        this.inFlight.delete(key);
        done();
      },
    };
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

const keyOf = (kind: string, id: string): string => `${kind}\u0000${id}`;
