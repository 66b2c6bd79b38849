import type { Reader } from '../protocol/wire.ts';
import { API_SCHEMAS } from '../protocol/generated/index.ts';
import { encodeResponse, encodeApiVersionsUnsupported } from '../protocol/frame.ts';
import { ADVERTISED_API_VERSIONS, API_VERSIONS_KEY } from './api-versions.ts';
import type { ConnectionInfo, RequestHeaderInfo } from './connection.ts';
import type { BrokerContext, RequestContext, Handler } from './context.ts';
import { FetchWaiters } from './handlers/fetch.ts';
import { buildHandlers } from './handlers/index.ts';
import { refuseBeforeDecode } from './request-bounds.ts';

/**
 * Decodes each request with the generated codec, checks its version against what we advertise,
 * hands it to the API's handler and encodes the answer. A request at a version we do not
 * advertise closes the connection, as Kafka does; ApiVersions is the exception and answers with
 * UNSUPPORTED_VERSION so clients can step down.
 */
export class RequestRouter {
  private readonly handlers: ReadonlyMap<number, Handler>;
  private readonly fetchWaiters = new FetchWaiters();

  constructor(private readonly broker: BrokerContext) {
    this.handlers = buildHandlers();
  }

  async handle(header: RequestHeaderInfo, body: Reader, conn: ConnectionInfo): Promise<Buffer[] | null> {
    const { apiKey, apiVersion, correlationId } = header;
    const range = ADVERTISED_API_VERSIONS.get(apiKey);
    if (apiKey === API_VERSIONS_KEY && range && apiVersion > range.max) {
      return encodeApiVersionsUnsupported(correlationId, range);
    }
    const schema = API_SCHEMAS.get(apiKey);
    const handler = this.handlers.get(apiKey);
    if (!range || !schema || !handler) throw new Error(`API key ${apiKey} is not supported`);
    if (apiVersion < range.min || apiVersion > range.max) {
      throw new Error(`${schema.name} v${apiVersion} is not supported (advertised ${range.min}..${range.max})`);
    }
    const refusal = refuseBeforeDecode(apiKey, apiVersion, body, this.broker.config);
    if (refusal !== null) throw new Error(refusal);
    const request: unknown = schema.decodeRequest(body, apiVersion);
    this.broker.metrics.requests.inc({ api: schema.name });
    // Handlers ask ctx.self(ctx.conn) for the endpoint of the listener this request arrived on.
    const ctx: RequestContext = { ...this.broker, header, conn, fetchWaiters: this.fetchWaiters };
    const response = await handler(request, ctx);
    if (response === null) return null;
    return encodeResponse(apiKey, apiVersion, correlationId, response);
  }

  close(): void {
    this.fetchWaiters.close();
  }
}
