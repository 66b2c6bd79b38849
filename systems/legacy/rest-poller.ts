/**
 * The receiving side of rest-poll: every scheduleMs, GET /feed/<kind>?after=<cursor>&limit=N from the
 * sender, hand the records to the system, then persist the cursor in a small file so a restarted
 * poller resumes where it left off. Failed polls back off; a handler failure leaves the cursor where
 * it was, so the page is fetched again (at-least-once: a crash between handling and saving the
 * cursor redelivers that page).
 *
 * Several receiver instances share one cursor file and take turns by a lease (isMyTurn): a poll
 * happens only on the holder's turn and starts from the cursor as the file has it, since another
 * instance may have moved it. A sender with several instances has one feed each, so a receiver
 * runs one poller (and one cursor) per sender instance.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { DataFormat, DataKindId } from '../topology/model.ts';
import { CONTENT_TYPES, backoffDelayMs, decodeAndValidate, errorText } from './common.ts';
import type { BackoffOptions, BadRecord, RecordCodec, RecordValidator } from './common.ts';
import type { RestClient } from './rest-client.ts';
import { FEED_HEADERS } from './rest-server.ts';
import { REST_POLLER } from '../runtime/tuning.ts';

export interface PollPageInfo {
  readonly cursor: string;
  /** Records the sender's bounded log dropped before we asked for them. */
  readonly missed: number;
  /** The sender restarted: our old cursor was from an earlier epoch. */
  readonly reset: boolean;
}

export interface RestPollerOptions<R = unknown> {
  readonly client: RestClient;
  readonly kind: DataKindId;
  readonly format: DataFormat;
  readonly scheduleMs: number;
  /** Where the cursor survives restarts (written atomically). */
  readonly cursorFile: string;
  /** Records per poll at most; a full page is followed by another poll at once. Default REST_POLLER.limit. */
  readonly limit?: number;
  /** Default `/feed/<kind>`. */
  readonly path?: string;
  readonly onRecords: (records: R[], page: PollPageInfo) => Promise<void> | void;
  /** Records that did not decode or validate; they are skipped (REST has no dead-letter queue). */
  readonly onBad?: (bad: BadRecord[]) => void;
  readonly validate?: RecordValidator;
  /** Backoff after failed polls; the delay is never shorter than scheduleMs. */
  readonly backoff?: BackoffOptions;
  /** Encodes and decodes the records: codecFor(the landscape's RecordKinds). */
  readonly codec: RecordCodec;
  /**
   * Several receiver instances poll this feed in turn: a poll happens only while this answers true
   * (typically a FileLease is held), and the cursor is read from cursorFile before each poll.
   */
  readonly isMyTurn?: () => boolean;
}

export interface RestPollerCounters {
  polls: number;
  /** Scheduled polls left out because it was another instance's turn. */
  pollsSkipped: number;
  pollFailures: number;
  handlerFailures: number;
  records: number;
  badRecords: number;
  missed: number;
  resets: number;
  cursor: string | undefined;
  lastError: string | undefined;
}

export class RestPoller<R = unknown> {
  private cursor: string | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private failuresInARow = 0;
  private readonly c: RestPollerCounters = { polls: 0, pollsSkipped: 0, pollFailures: 0, handlerFailures: 0, records: 0, badRecords: 0, missed: 0, resets: 0, cursor: undefined, lastError: undefined };

  constructor(readonly options: RestPollerOptions<R>) {}

  /** Loads the persisted cursor (if any) and starts polling. */
  async start(): Promise<void> {
    if (this.running) return;
    this.cursor = await loadCursor(this.options.cursorFile);
    this.c.cursor = this.cursor;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the poll in progress (if any); the cursor file is up to date afterwards. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  /** One poll: fetch, hand over, persist. Returns the number of records received (bad included). */
  async pollOnce(): Promise<number> {
    const limit = this.options.limit ?? REST_POLLER.limit;
    const q = new URLSearchParams({ limit: String(limit) });
    if (this.cursor) q.set('after', this.cursor);
    this.c.polls++;
    const res = await this.options.client.request({ method: 'GET', path: `${this.options.path ?? `/feed/${this.options.kind}`}?${q}`, accept: CONTENT_TYPES[this.options.format] });
    if (res.status !== 200 && res.status !== 204) throw new Error(`feed answered ${res.status}: ${res.body.toString('utf8', 0, 300)}`);
    const cursor = headerText(res.headers[FEED_HEADERS.cursor]);
    if (!cursor) throw new Error(`feed answer has no ${FEED_HEADERS.cursor} header`);
    const page: PollPageInfo = { cursor, missed: Number(headerText(res.headers[FEED_HEADERS.missed]) ?? 0) || 0, reset: headerText(res.headers[FEED_HEADERS.reset]) === 'true' };
    const decoded = res.status === 204 || res.body.length === 0
      ? { records: [] as R[], bad: [] }
      : decodeAndValidate<R>(this.options.codec, this.options.kind, this.options.format, res.body, this.options.validate);
    if (decoded.records.length > 0 || page.reset || page.missed > 0) {
      try {
        await this.options.onRecords(decoded.records, page);
      } catch (e) {
        this.c.handlerFailures++;
        throw new Error(`handler failed, cursor stays at ${this.cursor ?? '(start)'}: ${errorText(e)}`, { cause: e });
      }
    }
    if (decoded.bad.length > 0) {
      this.c.badRecords += decoded.bad.length;
      this.options.onBad?.(decoded.bad);
    }
    this.c.records += decoded.records.length;
    this.c.missed += page.missed;
    if (page.reset) this.c.resets++;
    if (cursor !== this.cursor) {
      await saveCursor(this.options.cursorFile, cursor);
      this.cursor = cursor;
      this.c.cursor = cursor;
    }
    return decoded.records.length + decoded.bad.length;
  }

  counters(): RestPollerCounters {
    return { ...this.c };
  }

  private async run(): Promise<void> {
    const limit = this.options.limit ?? REST_POLLER.limit;
    while (this.running) {
      let delayMs = this.options.scheduleMs;
      try {
        let n = 0;
        if (!this.options.isMyTurn) {
          n = await this.pollOnce();
        } else if (this.options.isMyTurn()) {
          await this.reloadCursor();
          n = await this.pollOnce();
        } else {
          this.c.pollsSkipped++;
        }
        this.failuresInARow = 0;
        if (n >= limit) delayMs = 0;
      } catch (e) {
        this.c.pollFailures++;
        this.c.lastError = errorText(e);
        this.failuresInARow++;
        delayMs = Math.max(this.options.scheduleMs, backoffDelayMs(this.failuresInARow, this.options.backoff ?? { initialMs: 100, maxMs: 10_000 }));
      }
      if (this.running && delayMs > 0) await this.pause(delayMs);
    }
  }

  /** Takes the cursor from its file: another instance may have moved it since our last turn. */
  private async reloadCursor(): Promise<void> {
    this.cursor = await loadCursor(this.options.cursorFile);
    this.c.cursor = this.cursor;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void { clearTimeout(t); resolve(); }
      this.wake = done;
    });
  }
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

async function loadCursor(file: string): Promise<string | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { cursor?: unknown };
    return typeof parsed.cursor === 'string' && parsed.cursor.length > 0 ? parsed.cursor : undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read poll cursor ${file}: ${errorText(e)}`, { cause: e });
  }
}

/** Writes the cursor atomically: temp file, fsync, rename. */
async function saveCursor(file: string, cursor: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify({ cursor, savedAt: new Date().toISOString() }) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
