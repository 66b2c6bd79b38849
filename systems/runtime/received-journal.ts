/**
 * The received journal of a system instance (state/<instance>/received.journal, one line
 * `<kind>\t<id>\t<atMs>\n` per record it applied; SystemCore writes it), and, for
 * delivery=idempotent, the memory of applied ids read from it: which records the system already
 * applied, so a redelivered one is not applied again. The journals are that memory; nothing else
 * is written for it.
 *
 * Instances of one system compete for its work and each writes its own journal, so a redelivery
 * may reach another instance than the one that applied the record (AMQP after a kill before the
 * ack, a Kafka partition moving to another member, a rest-sync retry on the next instance). Each
 * instance therefore also follows its siblings' journals (state/<sibling>/received.journal, same
 * machine, same work folder): before every check it reads what they appended since (one fstat per
 * sibling when nothing is new; only whole lines count, as in a restart's replay). Reading the
 * journals, instead of also appending to a shared log, keeps a single write per applied record:
 * there is no crash between "applied" and "remembered" that could leave the two disagreeing.
 *
 * Limits, documented where they bite:
 *   - bounded: a journal holds at most the core's ids limit per input kind (RECEIVED_IDS_MAX), so
 *     this memory holds at most (instances × that limit) ids per kind. A record applied beyond
 *     the limit is not journalled, so not remembered: a repeat of it is applied again
 *     (at-least-once), and GET /state says `truncated`.
 *   - exact between instances except for a true race: the core checks again right before it
 *     journals, after its CPU work, so two instances both apply a record only when each passes
 *     that last check before the other's journal line is written (microseconds, no await between
 *     check and write). Redelivery follows a crash, a timeout or a rebalance, not the same moment.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface JournalEntry {
  kind: string;
  id: string;
  atMs: number;
}

/** One journal line, with its newline (kinds and ids are identifiers and identity fields: no tabs, no newlines). */
export function journalLine(kind: string, id: string, atMs: number): string {
  return `${kind}\t${id}\t${atMs}\n`;
}

/** A journal line without its newline; null for a torn line (killed mid-write: no time) or a blank one. */
export function parseJournalLine(line: string): JournalEntry | null {
  const [kind, id, at] = line.split('\t');
  if (!kind || id === undefined || !at || !Number.isFinite(Number(at))) return null;
  return { kind, id, atMs: Number(at) };
}

/** Longest partial line kept while waiting for its newline; a longer one is no journal line and is dropped. */
const PARTIAL_LINE_CHARS_MAX = 64 * 1024;
const READ_BYTES = 64 * 1024;

/** Follows the end of another instance's journal: each read returns the whole lines appended since. */
class JournalTail {
  private fd: number | null = null;
  private position = 0;
  private partial = '';
  private decoder = new StringDecoder('utf8');
  private readonly buffer = Buffer.alloc(READ_BYTES);

  constructor(readonly file: string) {}

  read(onEntry: (e: JournalEntry) => void): void {
    if (this.fd === null) {
      try {
        this.fd = openSync(this.file, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // that instance has not started yet
        throw err;
      }
    }
    const size = fstatSync(this.fd).size;
    if (size < this.position) {
      // Journals only grow; a shorter file is a new one (a work folder reused): read it from the start.
      this.position = 0;
      this.partial = '';
      this.decoder = new StringDecoder('utf8');
    }
    while (this.position < size) {
      const n = readSync(this.fd, this.buffer, 0, Math.min(READ_BYTES, size - this.position), this.position);
      if (n === 0) break;
      this.position += n;
      const lines = (this.partial + this.decoder.write(this.buffer.subarray(0, n))).split('\n');
      this.partial = lines.pop() ?? '';
      if (this.partial.length > PARTIAL_LINE_CHARS_MAX) this.partial = '';
      for (const line of lines) {
        const e = parseJournalLine(line);
        if (e) onEntry(e);
      }
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** The ids a system applied, per input kind: this instance's (added as it journals them) and its siblings' (read from their journals). */
export class AppliedIds {
  private readonly byKind = new Map<string, Set<string>>();
  private readonly siblings: JournalTail[];

  constructor(siblingJournals: readonly string[] = []) {
    this.siblings = siblingJournals.map((f) => new JournalTail(f));
    this.follow();
  }

  /** Remembers an id this instance journalled. */
  add(kind: string, id: string): void {
    let ids = this.byKind.get(kind);
    if (!ids) this.byKind.set(kind, (ids = new Set()));
    ids.add(id);
  }

  /** Was `id` applied by this instance or a sibling? Reads what the siblings journalled since the last check first. */
  has(kind: string, id: string): boolean {
    this.follow();
    return this.byKind.get(kind)?.has(id) ?? false;
  }

  close(): void {
    for (const s of this.siblings) s.close();
  }

  private follow(): void {
    for (const s of this.siblings) s.read((e) => this.add(e.kind, e.id));
  }
}
