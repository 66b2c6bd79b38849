/**
 * One AMQP connection per system process, kept alive: connect with backoff, and when the connection
 * drops (RabbitMQ restarted, network cut) connect again and re-run every registered setup hook, so
 * publishers and consumers recreate their channels. Counts reconnects and failed attempts.
 *
 * The URL may name the nodes of a cluster, comma-separated, as a client configured with a node list:
 * it connects to the first node that answers, and when that connection drops it goes on with the
 * next node (round robin), backing off only once a whole round failed. Flow queues are quorum
 * queues on a cluster and classic queues on one node (queueType), unless told otherwise.
 */
import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import { backoffDelayMs, errorText } from './common.ts';
import { AMQP_CONNECTION } from '../runtime/tuning.ts';
import type { BackoffOptions } from './common.ts';

/** How flow queues are declared: classic (one node) or quorum (replicated over a cluster's nodes). */
export type AmqpQueueType = 'classic' | 'quorum';

/**
 * The URLs of `--amqp-url`: one amqp:// or amqps:// URL, or several separated by commas (the nodes
 * of one cluster). Throws a clear error for an empty list or an entry that is not an AMQP URL.
 */
export function parseAmqpUrls(text: string): string[] {
  const urls = text.split(',').map((u) => u.trim()).filter((u) => u.length > 0);
  if (urls.length === 0) throw new Error('no AMQP URL given (expected amqp://HOST:PORT, or several separated by commas)');
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new Error(`not a valid AMQP URL: "${redact(u)}"`);
    }
    if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') throw new Error(`not an AMQP URL (expected amqp:// or amqps://): "${redact(u)}"`);
  }
  return urls;
}

/** Quorum queues when the URL names several nodes (a cluster), classic queues for one. */
export function queueTypeFor(urls: readonly string[]): AmqpQueueType {
  return urls.length > 1 ? 'quorum' : 'classic';
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}

export interface AmqpConnectorOptions {
  /** One RabbitMQ URL, or the nodes of a cluster separated by commas (see parseAmqpUrls). */
  readonly url: string;
  /** How flow queues are declared; default queueTypeFor(the URLs). */
  readonly queueType?: AmqpQueueType;
  readonly backoff?: BackoffOptions;
  /** AMQP heartbeat in seconds, so a silent peer is noticed. Default AMQP_CONNECTION.heartbeatS. */
  readonly heartbeatS?: number;
  /** Connection name shown in the RabbitMQ management UI. */
  readonly name?: string;
}

export interface AmqpConnectorCounters {
  connected: boolean;
  /** Connections re-established after a drop. */
  reconnects: number;
  connectFailures: number;
  lastError: string | undefined;
  /** The node connected to (its URL, password hidden), when there are several. */
  node?: string;
}

export type ConnectHook = (conn: ChannelModel) => Promise<void>;

export class AmqpConnector {
  /** The nodes, in the order given. */
  readonly urls: readonly string[];
  readonly queueType: AmqpQueueType;
  /** The node tried next (index into urls). */
  private nextNode = 0;
  private connectedNode: number | undefined;
  private conn: ChannelModel | undefined;
  private readonly hooks = new Set<ConnectHook>();
  private readonly waiters = new Set<() => void>();
  private closing = false;
  private started = false;
  private everConnected = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Setup failures since the last clean setup: a hook that always fails must not spin. */
  private setupFailuresInARow = 0;
  private readonly c: AmqpConnectorCounters = { connected: false, reconnects: 0, connectFailures: 0, lastError: undefined };

  constructor(readonly options: AmqpConnectorOptions) {
    this.urls = parseAmqpUrls(options.url);
    this.queueType = options.queueType ?? queueTypeFor(this.urls);
  }

  /** Starts connecting in the background (idempotent). */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.connect(0);
  }

  /**
   * Runs `hook` on the current connection (if any) and on every future one. A hook that throws
   * closes the connection, which leads to a reconnect. Returns a function that unregisters it.
   */
  onConnect(hook: ConnectHook): () => void {
    this.hooks.add(hook);
    if (this.conn) void this.runHook(this.conn, hook);
    return () => { this.hooks.delete(hook); };
  }

  /** Resolves once connected; rejects after timeoutMs. */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.conn) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => { clearTimeout(t); this.waiters.delete(done); resolve(); };
      const t = setTimeout(() => { this.waiters.delete(done); reject(new Error(`AMQP not connected after ${timeoutMs} ms: ${this.c.lastError ?? 'no error yet'}`)); }, timeoutMs);
      this.waiters.add(done);
    });
  }

  get connection(): ChannelModel | undefined {
    return this.conn;
  }

  counters(): AmqpConnectorCounters {
    const node = this.urls.length > 1 && this.conn && this.connectedNode !== undefined ? { node: redact(this.urls[this.connectedNode]) } : {};
    return { ...this.c, connected: this.conn !== undefined, ...node };
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    const conn = this.conn;
    this.conn = undefined;
    if (conn) await conn.close().catch(() => undefined);
  }

  /** One round over the nodes from nextNode; backs off only when none of them answered. */
  private async connect(attempt: number): Promise<void> {
    let conn: ChannelModel | undefined;
    let node = this.nextNode;
    for (let tried = 0; tried < this.urls.length && !conn; tried++) {
      if (this.closing) return;
      node = (this.nextNode + tried) % this.urls.length;
      try {
        conn = await amqp.connect(withHeartbeat(this.urls[node], this.options.heartbeatS ?? AMQP_CONNECTION.heartbeatS),
          { timeout: 5_000, noDelay: AMQP_CONNECTION.noDelay, clientProperties: { connection_name: this.options.name ?? 'untangle-legacy' } });
      } catch (e) {
        this.c.connectFailures++;
        this.c.lastError = this.urls.length > 1 ? `${redact(this.urls[node])}: ${errorText(e)}` : errorText(e);
      }
    }
    if (!conn) {
      this.scheduleRetry(attempt + 1);
      return;
    }
    if (this.closing) { await conn.close().catch(() => undefined); return; }
    // After a drop, the next node first (round robin): the one just lost is likely down.
    this.nextNode = (node + 1) % this.urls.length;
    this.connectedNode = node;
    conn.on('error', (e: Error) => { this.c.lastError = errorText(e); });
    const established = conn;
    conn.once('close', () => {
      if (this.conn === established) this.conn = undefined;
      if (!this.closing) this.scheduleRetry(1 + this.setupFailuresInARow);
    });
    if (this.everConnected) this.c.reconnects++;
    this.everConnected = true;
    this.conn = conn;
    for (const w of [...this.waiters]) w();
    let clean = true;
    for (const hook of [...this.hooks]) clean = (await this.runHook(conn, hook)) && clean;
    if (clean) this.setupFailuresInARow = 0;
  }

  private async runHook(conn: ChannelModel, hook: ConnectHook): Promise<boolean> {
    try {
      await hook(conn);
      return true;
    } catch (e) {
      this.c.lastError = `setup failed: ${errorText(e)}`;
      this.setupFailuresInARow++;
      await conn.close().catch(() => undefined); // the 'close' handler schedules a reconnect
      return false;
    }
  }

  private scheduleRetry(attempt: number): void {
    if (this.closing || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect(attempt);
    }, backoffDelayMs(attempt, this.options.backoff ?? { initialMs: 100, maxMs: 5_000 }));
  }
}

/** Adds `heartbeat=<s>` to an amqp:// URL unless it sets one already. */
function withHeartbeat(url: string, heartbeatS: number): string {
  const u = new URL(url);
  if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(heartbeatS));
  return u.toString();
}
