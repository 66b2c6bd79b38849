/**
 * The peers file of the `peers=reload` practice: `{ "generation": 2, "topology": "<file>",
 * "peers": { "B": ["http://127.0.0.1:4001"] } }`, written atomically by whoever runs the landscape
 * and watched by every legacy system, which rewires its flows when it changes (no restart). The
 * writer, the reader that refuses a bad or half-written file with a reason, and the watcher:
 * fs.watch on the file's folder (the file is replaced by a rename, so its inode changes) plus a
 * periodic stat where change events are unreliable, debounced, one change handled at a time.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../legacy/fs-atomic.ts';

/** Larger peers files are refused (a landscape of 64 systems with 16 instances each fits easily). */
export const PEERS_FILE_BYTES_MAX = 1024 * 1024;

const peersFileSchema = z.strictObject({
  /** Grows with every change; a system echoes the last it followed in its /state. */
  generation: z.number().int().nonnegative(),
  /** The topology file, relative to the peers file's folder or absolute. */
  topology: z.string().min(1),
  /** Every system's instances' base URLs, in instance order. */
  peers: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,31}$/), z.array(z.string().regex(/^https?:\/\/[^\s|,]+$/)).min(1).max(64)),
});
export type PeersFile = z.infer<typeof peersFileSchema>;

/** Reads the text of a peers file; throws an error naming the file and the problem. `topology` comes back absolute. */
export function parsePeersFile(text: string, file: string): PeersFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`peers file ${file}: not JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = peersFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`peers file ${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  return { ...parsed.data, topology: path.resolve(path.dirname(file), parsed.data.topology) };
}

/** Writes a peers file atomically (a temporary file beside it, fsync, rename): a watcher never reads half of it. */
export async function writePeersFile(file: string, content: PeersFile): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(content, null, 2)}\n`);
}

export interface PeersWatchOptions {
  /**
   * Called with each new content (one call at a time). A throw is logged (once per reason) and the
   * same content is offered again after retryMs (RabbitMQ may be back by then), until it is
   * followed or the file changes.
   */
  onChange(content: PeersFile): Promise<void>;
  logger(line: string): void;
  /** The stat fallback's period. Default 1000 ms. */
  pollMs?: number;
  /** Quiet time after a change event before the file is read. Default 50 ms. */
  debounceMs?: number;
  /** After onChange threw: when to offer the same content again. Default 5000 ms. */
  retryMs?: number;
}

export interface PeersWatcher {
  /** The content the watcher started from (null: no readable file then). */
  readonly initial: PeersFile | null;
  /** Reads the file now (after the debounce), as a change event would. */
  poke(): void;
  stop(): Promise<void>;
}

/**
 * Watches a peers file. The content found at start is the baseline (the system was started with
 * that configuration or a newer one); every later content different from the last one read is
 * parsed and, if valid, handed to onChange. A bad or half-written file is logged and ignored (the
 * wiring stays as it is) until the file changes again; a content onChange could not follow is
 * offered again after retryMs.
 */
export async function watchPeersFile(file: string, o: PeersWatchOptions): Promise<PeersWatcher> {
  const pollMs = o.pollMs ?? 1000;
  const debounceMs = o.debounceMs ?? 50;
  const base = path.basename(file);
  let lastText: string | null = null;
  let lastStat = '';
  let stopped = false;
  const retryMs = o.retryMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let lastFailure = '';
  let running: Promise<void> | null = null;
  let again = false;

  const read = async (): Promise<string | null> => {
    try {
      const s = await stat(file);
      if (s.size > PEERS_FILE_BYTES_MAX) throw new Error(`peers file ${file}: ${s.size} bytes exceed the limit of ${PEERS_FILE_BYTES_MAX}`);
      return await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  };
  const checkOnce = async (): Promise<void> => {
    let text: string | null;
    try {
      text = await read();
    } catch (err) {
      o.logger(`peers file: ${(err as Error).message}; keeping the current wiring`);
      return;
    }
    if (text === null || text === lastText) return;
    lastText = text;
    let content: PeersFile;
    try {
      content = parsePeersFile(text, file);
    } catch (err) {
      o.logger(`${(err as Error).message}; keeping the current wiring`);
      return;
    }
    clearTimeout(retryTimer);
    try {
      await o.onChange(content);
      lastFailure = '';
    } catch (err) {
      const line = `peers file ${file} (generation ${content.generation}): ${(err as Error).message}; keeping the current wiring`;
      if (line !== lastFailure) o.logger(`${line}, trying again every ${retryMs} ms`);
      lastFailure = line;
      lastText = null;
      retryTimer = setTimeout(poke, retryMs);
      retryTimer.unref();
    }
  };
  const run = (): void => {
    if (stopped) return;
    if (running) { again = true; return; }
    running = (async () => {
      do {
        again = false;
        await checkOnce();
      } while (again && !stopped);
    })().finally(() => { running = null; });
  };
  const poke = (): void => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(run, debounceMs);
  };

  let initial: PeersFile | null = null;
  const text = await read().catch(() => null);
  if (text !== null) {
    lastText = text;
    try {
      initial = parsePeersFile(text, file);
    } catch (err) {
      o.logger(`${(err as Error).message}; waiting for a valid one`);
    }
  }
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(path.dirname(file), (_event, name) => { if (name === null || name.toString() === base) poke(); });
    watcher.on('error', (err) => o.logger(`peers file: watching ${path.dirname(file)}: ${err.message}; the periodic check goes on`));
  } catch (err) {
    o.logger(`peers file: cannot watch ${path.dirname(file)} (${(err as Error).message}); checking every ${pollMs} ms`);
  }
  const poller = setInterval(() => {
    stat(file).then((s) => `${s.ino}:${s.size}:${s.mtimeMs}`, () => 'missing').then((sig) => {
      if (sig !== lastStat) {
        lastStat = sig;
        poke();
      }
    }, () => undefined);
  }, pollMs);
  poller.unref();

  return {
    initial,
    poke,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(retryTimer);
      clearInterval(poller);
      watcher?.close();
      await running;
    },
  };
}
