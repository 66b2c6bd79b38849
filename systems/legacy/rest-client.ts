/**
 * The calling side of rest-sync (and the transport under the rest-poll poller): Node's http with a
 * keep-alive Agent (bounded sockets), a per-attempt timeout, and the flow's retries with backoff on
 * connection errors, 5xx and timeouts. Retries are what legacy integrations do and they cause
 * duplicates at the receiver; that is measured, not hidden. A caller may send an Idempotency-Key
 * (the same on every retry) so a receiver can choose to dedupe.
 *
 * A receiver with several instances is given as several base URLs: calls go round robin over them,
 * and a retry after a connection error, a timeout or a 5xx goes to another instance at once (a
 * retry to an instance already tried this call waits for the backoff first), within the same
 * retries. An instance that failed to connect or timed out is passed over for downForMs while
 * others are up. One Agent serves all of them (its socket limit is per instance).
 */
import http from 'node:http';
import type { DataFormat, DataKindId } from '../topology/model.ts';
import { CONTENT_TYPES, DEFAULT_BACKOFF, backoffDelayMs, decodeAndValidate, errorText, newLatencyStats,
  observeLatency, sleep, snapshotOf } from './common.ts';
import type { BackoffOptions, DecodedBatch, LatencyStats, RecordCodec, RecordValidator } from './common.ts';
import { IDEMPOTENCY_KEY_HEADER } from './rest-server.ts';
import { REST_CLIENT } from '../runtime/tuning.ts';

export interface RestClientOptions {
  /** http://host:port of the receiver, or of each of its instances (at most BASE_URLS_MAX). */
  readonly baseUrl: string | readonly string[];
  /** Per attempt, from sending the request to the last byte of the answer. */
  readonly timeoutMs: number;
  /** Extra attempts after the first one fails with a connection error, a timeout or a 5xx. */
  readonly retries: number;
  /** Keep-alive sockets to each receiver instance at most; further calls queue in the Agent. Default REST_CLIENT.maxSockets. */
  readonly maxSockets?: number;
  readonly backoff?: BackoffOptions;
  /** Larger answers are cut off and fail the attempt. Default 8 MiB. */
  readonly responseBytesMax?: number;
  /** With several base URLs: how long one that failed to connect or timed out is passed over. Default 1000. */
  readonly downForMs?: number;
  /** Encodes and decodes the records: codecFor(the landscape's RecordKinds). */
  readonly codec: RecordCodec;
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
  /** The origin (http://host:port) of the instance that answered. */
  readonly baseUrl: string;
}

/** Instances of one receiver a client spreads over, at most (the topology allows 16). */
export const BASE_URLS_MAX = 64;

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
  /** Retries sent to another instance than the ones already tried in the call (several base URLs only). */
  failovers: number;
  /** Attempts per instance origin, failed ones included: how the calls were spread. */
  attemptsByUrl: Record<string, number>;
  /** Whole-call latency (all attempts and backoff included) of calls that got an answer. */
  latency: LatencyStats;
}

export class RestClient {
  private readonly agent: http.Agent;
  private readonly urls: readonly URL[];
  /** Per instance: passed over until then (performance.now() ms) after a connection error or timeout. */
  private readonly downUntilMs: number[];
  /** The instance the next call starts with (round robin). */
  private nextIndex = 0;
  private readonly codec: RecordCodec;
  private readonly c: RestClientCounters = {
    calls: 0, failures: 0, retries: 0, timeouts: 0, connectionErrors: 0, serverErrors: 0, failovers: 0, attemptsByUrl: {}, latency: newLatencyStats(),
  };

  constructor(readonly options: RestClientOptions) {
    const given = typeof options.baseUrl === 'string' ? [options.baseUrl] : [...options.baseUrl];
    if (given.length === 0 || given.length > BASE_URLS_MAX) throw new RangeError(`RestClient needs 1 to ${BASE_URLS_MAX} base URLs, got ${given.length}`);
    this.urls = given.map((u) => {
      const url = new URL(u);
      if (url.protocol !== 'http:') throw new RangeError(`RestClient speaks http only, got ${u}`);
      return url;
    });
    this.downUntilMs = this.urls.map(() => 0);
    for (const u of this.urls) this.c.attemptsByUrl[u.origin] = 0;
    // As many sockets may stay open idle as may be busy: a burst after a pause opens no new connections.
    const maxSockets = options.maxSockets ?? REST_CLIENT.maxSockets;
    this.agent = new http.Agent({ keepAlive: REST_CLIENT.keepAlive, maxSockets, maxFreeSockets: maxSockets });
    this.codec = options.codec;
  }

  /** One call with retries. Resolves with any answer below 500; rejects with RestCallError otherwise. */
  async request(req: RestRequest): Promise<RestResponse> {
    this.c.calls++;
    const started = performance.now();
    const attemptsMax = 1 + Math.max(0, this.options.retries);
    const tried = new Set<number>();
    let last: RestCallError | undefined;
    let target = -1;
    for (let attempt = 1; attempt <= attemptsMax; attempt++) {
      target = this.pick(tried, target);
      if (attempt > 1) {
        this.c.retries++;
        // Another instance is tried at once; the same one again only after the backoff.
        if (tried.has(target)) await sleep(backoffDelayMs(attempt - 1, this.options.backoff ?? DEFAULT_BACKOFF));
        else this.c.failovers++;
      }
      tried.add(target);
      const url = this.urls[target];
      this.c.attemptsByUrl[url.origin]++;
      try {
        const res = await this.attempt(url, req);
        this.downUntilMs[target] = 0;
        if (res.status >= 500) {
          this.c.serverErrors++;
          last = new RestCallError('status', attempt, res.status, `${req.method} ${req.path} answered ${res.status}: ${res.body.toString('utf8', 0, 200)}`);
          continue;
        }
        observeLatency(this.c.latency, performance.now() - started);
        if (res.status >= 400) this.c.failures++;
        return { ...res, attempts: attempt, baseUrl: url.origin };
      } catch (e) {
        if (!(e instanceof RestCallError)) { this.c.failures++; throw e; }
        if (e.reason === 'timeout') this.c.timeouts++;
        else if (e.reason === 'connection') this.c.connectionErrors++;
        if (e.reason === 'timeout' || e.reason === 'connection') this.downUntilMs[target] = performance.now() + (this.options.downForMs ?? 1000);
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

  /**
   * The instance for an attempt. A call's first attempt goes to the next instance in round robin
   * order (passing over one that is down while another is up), and moves the rotation on; a retry
   * (`previous` >= 0) goes to the instance after the previous one, preferring one not tried in
   * this call and up, then one not tried, then one up, then the same again.
   */
  private pick(tried: ReadonlySet<number>, previous: number): number {
    const n = this.urls.length;
    if (n === 1) return 0;
    const nowMs = performance.now();
    const up = (i: number): boolean => this.downUntilMs[i] <= nowMs;
    const first = previous < 0;
    const from = first ? this.nextIndex : (previous + 1) % n;
    const prefs: ((i: number) => boolean)[] = [(i) => !tried.has(i) && up(i), (i) => !tried.has(i), up, () => true];
    for (const ok of prefs) {
      for (let k = 0; k < n; k++) {
        const i = (from + k) % n;
        if (!ok(i)) continue;
        if (first) this.nextIndex = (i + 1) % n;
        return i;
      }
    }
    return from; // not reached: the last preference accepts any
  }

  private attempt(url: URL, r: RestRequest): Promise<Omit<RestResponse, 'attempts' | 'baseUrl'>> {
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
        protocol: url.protocol, hostname: url.hostname, port: url.port, method: r.method, path: r.path, headers, agent: this.agent,
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
      const timer = setTimeout(() => fail('timeout', `${r.method} ${url.host}${r.path} timed out after ${timeoutMs} ms`), timeoutMs);
      req.on('error', (e) => fail('connection', `${r.method} ${url.host}${r.path}: ${errorText(e)}`));
      req.end(r.body);
    });
  }
}
