/**
 * The calling side of rest-sync (and the transport under the rest-poll poller): Node's http with a
 * keep-alive Agent (bounded sockets), a per-attempt timeout, and the flow's retries with backoff on
 * connection errors, 5xx and timeouts. Retries are what legacy integrations do and they cause
 * duplicates at the receiver; that is measured, not hidden. A caller may send an Idempotency-Key
 * (the same on every retry) so a receiver can choose to dedupe.
 */
import http from 'node:http';
import type { DataFormat, DataKindId } from '../topology/model.ts';
import { CONTENT_TYPES, DEFAULT_BACKOFF, backoffDelayMs, decodeAndValidate, defaultCodec, errorText, newLatencyStats,
  observeLatency, sleep, snapshotOf } from './common.ts';
import type { BackoffOptions, DecodedBatch, LatencyStats, RecordCodec, RecordValidator } from './common.ts';
import { IDEMPOTENCY_KEY_HEADER } from './rest-server.ts';

export interface RestClientOptions {
  /** http://host:port of the receiver. */
  readonly baseUrl: string;
  /** Per attempt, from sending the request to the last byte of the answer. */
  readonly timeoutMs: number;
  /** Extra attempts after the first one fails with a connection error, a timeout or a 5xx. */
  readonly retries: number;
  /** Keep-alive sockets to the receiver at most; further calls queue in the Agent. Default 16. */
  readonly maxSockets?: number;
  readonly backoff?: BackoffOptions;
  /** Larger answers are cut off and fail the attempt. Default 8 MiB. */
  readonly responseBytesMax?: number;
  readonly codec?: RecordCodec;
}

export interface RestRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query, starting with '/'. */
  readonly path: string;
  readonly body?: Buffer;
  readonly contentType?: string;
  readonly accept?: string;
  readonly idempotencyKey?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Overrides the client's timeoutMs for this call. */
  readonly timeoutMs?: number;
}

export interface RestResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** 1 + retries used. */
  readonly attempts: number;
}

export type RestFailureReason = 'timeout' | 'connection' | 'status' | 'too-large';

/** A call that failed after all attempts (or on its first 5xx/timeout when retries is 0). */
export class RestCallError extends Error {
  constructor(readonly reason: RestFailureReason, readonly attempts: number, readonly status: number | undefined, message: string) {
    super(message);
    this.name = 'RestCallError';
  }
}

export interface RestClientCounters {
  /** Calls made (one per request(), however many attempts). */
  calls: number;
  /** Calls that ended without a 2xx/3xx: a RestCallError or a 4xx answer. */
  failures: number;
  /** Attempts beyond the first. Each one may duplicate work at the receiver. */
  retries: number;
  timeouts: number;
  connectionErrors: number;
  serverErrors: number;
  /** Whole-call latency (all attempts and backoff included) of calls that got an answer. */
  latency: LatencyStats;
}

export class RestClient {
  private readonly agent: http.Agent;
  private readonly url: URL;
  private readonly codec: RecordCodec;
  private readonly c: RestClientCounters = { calls: 0, failures: 0, retries: 0, timeouts: 0, connectionErrors: 0, serverErrors: 0, latency: newLatencyStats() };

  constructor(readonly options: RestClientOptions) {
    this.url = new URL(options.baseUrl);
    if (this.url.protocol !== 'http:') throw new RangeError(`RestClient speaks http only, got ${options.baseUrl}`);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 16, maxFreeSockets: options.maxSockets ?? 16 });
    this.codec = options.codec ?? defaultCodec;
  }

  /** One call with retries. Resolves with any answer below 500; rejects with RestCallError otherwise. */
  async request(req: RestRequest): Promise<RestResponse> {
    this.c.calls++;
    const started = performance.now();
    const attemptsMax = 1 + Math.max(0, this.options.retries);
    let last: RestCallError | undefined;
    for (let attempt = 1; attempt <= attemptsMax; attempt++) {
      if (attempt > 1) {
        this.c.retries++;
        await sleep(backoffDelayMs(attempt - 1, this.options.backoff ?? DEFAULT_BACKOFF));
      }
      try {
        const res = await this.attempt(req);
        if (res.status >= 500) {
          this.c.serverErrors++;
          last = new RestCallError('status', attempt, res.status, `${req.method} ${req.path} answered ${res.status}: ${res.body.toString('utf8', 0, 200)}`);
          continue;
        }
        observeLatency(this.c.latency, performance.now() - started);
        if (res.status >= 400) this.c.failures++;
        return { ...res, attempts: attempt };
      } catch (e) {
        if (!(e instanceof RestCallError)) { this.c.failures++; throw e; }
        if (e.reason === 'timeout') this.c.timeouts++;
        else if (e.reason === 'connection') this.c.connectionErrors++;
        last = new RestCallError(e.reason, attempt, undefined, e.message);
        if (e.reason === 'too-large') break;
      }
    }
    this.c.failures++;
    throw last ?? new RestCallError('connection', 0, undefined, 'no attempt made');
  }

  /**
   * POSTs `records` of `kind` encoded in `format` and decodes the answer's records (if any) as
   * `replyKind`. A 4xx answer rejects with RestCallError('status'): the receiver refused the data.
   */
  async postRecords<T = unknown>(path: string, kind: DataKindId, format: DataFormat, records: readonly unknown[],
    o: { replyKind?: DataKindId; idempotencyKey?: string; timeoutMs?: number; validate?: RecordValidator } = {}): Promise<{ status: number; reply: DecodedBatch<T>; attempts: number }> {
    const res = await this.request({
      method: 'POST', path, body: this.codec.encodeBatch(kind, format, records), contentType: CONTENT_TYPES[format],
      accept: CONTENT_TYPES[format], idempotencyKey: o.idempotencyKey, timeoutMs: o.timeoutMs,
    });
    if (res.status >= 400) throw new RestCallError('status', res.attempts, res.status, `POST ${path} answered ${res.status}: ${res.body.toString('utf8', 0, 300)}`);
    const reply: DecodedBatch<T> = res.body.length === 0 || res.status === 204
      ? { records: [], bad: [] }
      : decodeAndValidate<T>(this.codec, o.replyKind ?? kind, format, res.body, o.validate);
    return { status: res.status, reply, attempts: res.attempts };
  }

  counters(): RestClientCounters {
    return snapshotOf(this.c);
  }

  /** Closes idle keep-alive sockets; calls in flight finish. */
  close(): void {
    this.agent.destroy();
  }

  private attempt(r: RestRequest): Promise<Omit<RestResponse, 'attempts'>> {
    const timeoutMs = r.timeoutMs ?? this.options.timeoutMs;
    const bytesMax = this.options.responseBytesMax ?? 8 * 1024 * 1024;
    const headers: Record<string, string> = { ...(r.headers ?? {}) };
    if (r.contentType) headers['content-type'] = r.contentType;
    if (r.accept) headers.accept = r.accept;
    if (r.idempotencyKey) headers[IDEMPOTENCY_KEY_HEADER] = r.idempotencyKey;
    if (r.body) headers['content-length'] = String(r.body.length);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (reason: RestFailureReason, message: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(new RestCallError(reason, 1, undefined, message));
      };
      const req = http.request({
        protocol: this.url.protocol, hostname: this.url.hostname, port: this.url.port, method: r.method, path: r.path, headers, agent: this.agent,
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (b: Buffer) => {
          size += b.length;
          if (size > bytesMax) fail('too-large', `${r.method} ${r.path}: answer exceeds ${bytesMax} bytes`);
          else chunks.push(b);
        });
        res.on('error', (e) => fail('connection', `${r.method} ${r.path}: ${errorText(e)}`));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      });
      const timer = setTimeout(() => fail('timeout', `${r.method} ${this.url.host}${r.path} timed out after ${timeoutMs} ms`), timeoutMs);
      req.on('error', (e) => fail('connection', `${r.method} ${this.url.host}${r.path}: ${errorText(e)}`));
      req.end(r.body);
    });
  }
}
