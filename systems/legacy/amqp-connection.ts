/**
 * One AMQP connection per system process, kept alive: connect with backoff, and when the connection
 * drops (RabbitMQ restarted, network cut) connect again and re-run every registered setup hook, so
 * publishers and consumers recreate their channels. Counts reconnects and failed attempts.
 */
import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import { backoffDelayMs, errorText } from './common.ts';
import type { BackoffOptions } from './common.ts';

export interface AmqpConnectorOptions {
  readonly url: string;
  readonly backoff?: BackoffOptions;
  /** AMQP heartbeat in seconds, so a silent peer is noticed. Default 10. */
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
}

export type ConnectHook = (conn: ChannelModel) => Promise<void>;

export class AmqpConnector {
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

  constructor(readonly options: AmqpConnectorOptions) {}

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
    return { ...this.c, connected: this.conn !== undefined };
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    const conn = this.conn;
    this.conn = undefined;
    if (conn) await conn.close().catch(() => undefined);
  }

  private async connect(attempt: number): Promise<void> {
    if (this.closing) return;
    let conn: ChannelModel;
    try {
      conn = await amqp.connect(withHeartbeat(this.options.url, this.options.heartbeatS ?? 10),
        { timeout: 5_000, clientProperties: { connection_name: this.options.name ?? 'untangle-legacy' } });
    } catch (e) {
      this.c.connectFailures++;
      this.c.lastError = errorText(e);
      this.scheduleRetry(attempt + 1);
      return;
    }
    if (this.closing) { await conn.close().catch(() => undefined); return; }
    conn.on('error', (e: Error) => { this.c.lastError = errorText(e); });
    conn.once('close', () => {
      if (this.conn === conn) this.conn = undefined;
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
