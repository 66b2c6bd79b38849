/**
 * The receiving side of rest-sync and the sending side of rest-poll: an express app factory that
 * parses JSON/XML/CSV bodies by content type (bounded), answers a bad body with 400 and a reason,
 * serves GET /health and `GET /feed/<kind>?after=<cursor>&limit=N` from a bounded FeedLog. Record
 * routes and feeds may be added and removed while the server listens (a legacy system's peer reload).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { DataFormat, DataKindId } from '../topology/model.ts';
import { CONTENT_TYPES, clip, decodeAndValidate, errorText, formatOfContentType } from './common.ts';
import type { RecordCodec, RecordValidator } from './common.ts';
import type { FeedLog } from './feed-log.ts';
import { REST_SERVER } from '../runtime/tuning.ts';

/** The header a caller may set so a receiver can choose to dedupe its retries. Transports never do. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const FEED_HEADERS = { cursor: 'x-feed-cursor', missed: 'x-feed-missed', reset: 'x-feed-reset' } as const;

export interface RestServerOptions {
  /** Largest accepted request body; larger gets 413. Default REST_SERVER.bodyBytesMax. */
  readonly bodyBytesMax?: number;
  /** Most records one request may carry; more gets 400. Default 1000. */
  readonly recordsPerBodyMax?: number;
  /** Most records one feed page may return, whatever `limit` asks. Default REST_SERVER.feedPageMax. */
  readonly feedPageMax?: number;
  /** Encodes and decodes the records: codecFor(the landscape's RecordKinds). */
  readonly codec: RecordCodec;
  readonly validate?: RecordValidator;
}

export interface RestServerCounters {
  requests: number;
  /** Answered 400 or 415: a body or query that could not be parsed, or records that failed validation. */
  badRequests: number;
  /** Answered 413. */
  tooLarge: number;
  /** Answered 5xx (a handler threw). */
  serverErrors: number;
  feedRequests: number;
  recordsAccepted: number;
  recordsServed: number;
}

export interface RecordsContext {
  readonly format: DataFormat;
  /** The caller's Idempotency-Key header, if any; the system decides whether to dedupe on it. */
  readonly idempotencyKey: string | undefined;
  readonly req: Request;
}

/** What a records handler answers: records encoded in the caller's format, or nothing (204). */
export interface RecordsReply {
  readonly status?: number;
  readonly kind: DataKindId;
  readonly records: readonly unknown[];
}

export type RecordsHandler<R = unknown> = (records: R[], ctx: RecordsContext) => Promise<RecordsReply | void> | RecordsReply | void;

/** Throw from a handler to answer with a specific status. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A route added while the app runs; remove() makes its path answer 404 again (requests under way finish). */
export interface RouteHandle {
  remove(): void;
}

export interface RestApp {
  readonly app: express.Express;
  /** POST `path` with a body of `kind` records (JSON, XML or CSV by Content-Type) to `handler`. Throws if `path` is served already. */
  acceptRecords<R = unknown>(path: string, kind: DataKindId, handler: RecordsHandler<R>): RouteHandle;
  /** GET /feed/<kind> from `log`, in the Accept header's format or `defaultFormat`. Throws if that feed is served already. */
  serveFeed(kind: DataKindId, log: FeedLog, defaultFormat: DataFormat): RouteHandle;
  counters(): RestServerCounters;
  /** Adds the 404 and error handlers (idempotent) and listens; port 0 picks a free port. */
  listen(port: number, host?: string): Promise<RestListener>;
}

export interface RestListener {
  readonly server: http.Server;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export function createRestApp(opts: RestServerOptions): RestApp {
  const bodyBytesMax = opts.bodyBytesMax ?? REST_SERVER.bodyBytesMax;
  const recordsPerBodyMax = opts.recordsPerBodyMax ?? 1000;
  const feedPageMax = opts.feedPageMax ?? REST_SERVER.feedPageMax;
  const codec = opts.codec;
  const c: RestServerCounters = { requests: 0, badRequests: 0, tooLarge: 0, serverErrors: 0, feedRequests: 0, recordsAccepted: 0, recordsServed: 0 };
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, _res, next) => { c.requests++; next(); });
  app.get('/health', (_req, res) => { res.json({ ok: true }); });
  // Record routes and feeds by `<method> <path>`, looked up per request: unlike routes on the app,
  // they can be added after listen() (after the 404 handler) and removed.
  const routes = new Map<string, express.Router>();
  app.use((req, res, next) => {
    const route = routes.get(`${req.method} ${req.path}`);
    if (route) route(req, res, next);
    else next();
  });
  const addRoute = (method: 'GET' | 'POST', path: string, build: (router: express.Router) => void): RouteHandle => {
    const key = `${method} ${path}`;
    if (routes.has(key)) throw new Error(`${key} is served already`);
    const router = express.Router();
    build(router);
    routes.set(key, router);
    return { remove: () => { if (routes.get(key) === router) routes.delete(key); } };
  };

  const rawBody = express.raw({ type: () => true, limit: bodyBytesMax });
  const bad = (res: Response, status: number, reason: string, details?: unknown): void => {
    c.badRequests++;
    res.status(status).json({ error: status === 415 ? 'unsupported media type' : 'bad request', reason, ...(details ? { details } : {}) });
  };

  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    app.use((_req, res) => { res.status(404).json({ error: 'not found' }); });
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      const e = err as { status?: number; statusCode?: number; type?: string };
      const status = e.status ?? e.statusCode ?? 500;
      if (res.headersSent) { res.end(); return; }
      if (status === 413) {
        c.tooLarge++;
        res.status(413).json({ error: 'payload too large', reason: `body exceeds ${bodyBytesMax} bytes` });
      } else if (status >= 400 && status < 500) {
        bad(res, status, errorText(err));
      } else {
        c.serverErrors++;
        res.status(status).json({ error: 'internal error', reason: clip(errorText(err), 500) });
      }
    });
  };

  return {
    app,
    acceptRecords<R>(path: string, kind: DataKindId, handler: RecordsHandler<R>) {
      return addRoute('POST', path, (router) => router.post(path, rawBody, async (req, res) => {
        const format = formatOfContentType(req.get('content-type'));
        if (!format) return bad(res, 415, `content type ${JSON.stringify(req.get('content-type') ?? '')} is not json, xml or csv`);
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        if (body.length === 0) return bad(res, 400, 'empty body');
        const decoded = decodeAndValidate<R>(codec, kind, format, body, opts.validate);
        if (decoded.bad.length > 0) {
          return bad(res, 400, `${decoded.bad.length} bad ${kind} record(s) in ${format} body: ${decoded.bad[0].reason}`,
            decoded.bad.slice(0, 10).map((b) => ({ line: b.line, reason: b.reason })));
        }
        if (decoded.records.length === 0) return bad(res, 400, `no ${kind} records in ${format} body`);
        if (decoded.records.length > recordsPerBodyMax) return bad(res, 400, `${decoded.records.length} records exceed the limit of ${recordsPerBodyMax}`);
        const reply = await handler(decoded.records, { format, idempotencyKey: req.get(IDEMPOTENCY_KEY_HEADER), req });
        c.recordsAccepted += decoded.records.length;
        if (!reply) { res.status(204).end(); return; }
        const replyFormat = formatOfContentType(req.get('accept')) ?? format;
        res.status(reply.status ?? 200).type(CONTENT_TYPES[replyFormat]).send(codec.encodeBatch(reply.kind, replyFormat, reply.records));
      }));
    },
    serveFeed(kind: DataKindId, log: FeedLog, defaultFormat: DataFormat) {
      const path = `/feed/${kind}`;
      return addRoute('GET', path, (router) => router.get(path, (req, res) => {
        c.feedRequests++;
        const after = typeof req.query.after === 'string' ? req.query.after : undefined;
        const limitText = typeof req.query.limit === 'string' ? req.query.limit : String(feedPageMax);
        const limit = Number(limitText);
        if (!/^\d{1,9}$/.test(limitText) || limit < 1) return bad(res, 400, `bad limit ${JSON.stringify(limitText.slice(0, 32))}`);
        const page = log.read(after, Math.min(limit, feedPageMax)); // BadCursorError carries status 400
        const format = formatOfContentType(req.get('accept')) ?? defaultFormat;
        res.set(FEED_HEADERS.cursor, page.cursor).set(FEED_HEADERS.missed, String(page.missed)).set(FEED_HEADERS.reset, String(page.reset));
        if (page.records.length === 0) { res.status(204).end(); return; }
        c.recordsServed += page.records.length;
        res.status(200).type(CONTENT_TYPES[format]).send(codec.encodeBatch(kind, format, page.records));
      }));
    },
    counters: () => ({ ...c }),
    listen(port: number, host = '127.0.0.1') {
      finish();
      return new Promise((resolve, reject) => {
        const server = http.createServer(app);
        server.keepAliveTimeout = REST_SERVER.keepAliveTimeout;
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const actual = (server.address() as AddressInfo).port;
          resolve({
            server,
            port: actual,
            url: `http://${host}:${actual}`,
            close: () => new Promise<void>((res) => { server.close(() => res()); server.closeAllConnections(); }),
          });
        });
      });
    },
  };
}
