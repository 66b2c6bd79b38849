// Request/response framing on top of the generated codecs: header versions, the 4-byte size
// prefix, and the special ApiVersions answers. Responses come back as chunk lists so record sets
// reach the socket by reference.

import { ErrorCode } from './errors.ts';
import { defaultApiVersionsResponse, encodeApiVersionsResponse } from './generated/api-versions.ts';
import {
  decodeRequestHeader as decodeRequestHeaderFields,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
} from './generated/headers.ts';
import { API_SCHEMAS, ApiKey, type ApiSchema } from './generated/index.ts';
import { ProtocolError, Reader, Writer } from './wire.ts';

export interface DecodedRequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** 2 when the API version is flexible (a tag buffer follows the client id), else 1. */
  headerVersion: 1 | 2;
}

const SIZE_PREFIX_BYTES = 4;

/**
 * Shared output for frames. Safe to reuse: every encode here is synchronous, and a Writer never
 * overwrites bytes it has handed out, so earlier frames stay valid while they wait on a socket.
 */
const frameWriter = new Writer(16 * 1024);

function schemaFor(apiKey: number): ApiSchema {
  const schema = API_SCHEMAS.get(apiKey);
  if (!schema) throw new RangeError(`API key ${apiKey} has no generated codec`);
  return schema;
}

/** Request header version: 2 for flexible versions of a known API, 1 otherwise (also for unknown keys). */
export function requestHeaderVersion(apiKey: number, apiVersion: number): 1 | 2 {
  const schema = API_SCHEMAS.get(apiKey);
  return schema !== undefined && apiVersion >= schema.firstFlexibleVersion ? 2 : 1;
}

/** Response header version: 1 for flexible versions, 0 otherwise; ApiVersions always uses 0 (KIP-511). */
export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  if (apiKey === ApiKey.ApiVersions) return 0;
  return apiVersion >= schemaFor(apiKey).firstFlexibleVersion ? 1 : 0;
}

/**
 * Reads a request header from a frame (without its size prefix): api key and version first, then
 * correlation id and client id (an int16 string in header v1 and v2), then the tag buffer of v2.
 * Leaves `r` at the start of the request body.
 */
export function decodeRequestHeader(r: Reader): DecodedRequestHeader {
  const start = r.offset;
  const apiKey = r.readInt16();
  const apiVersion = r.readInt16();
  r.offset = start;
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  const header = decodeRequestHeaderFields(r, headerVersion);
  return { apiKey, apiVersion, correlationId: header.correlationId, clientId: header.clientId, headerVersion };
}

/** Fills in the size prefix written as a placeholder at the start of the writer's current message. */
function finishFrame(w: Writer): Buffer[] {
  const sizeBytes = w.length - SIZE_PREFIX_BYTES;
  const chunks = w.toChunks();
  chunks[0].writeInt32BE(sizeBytes, 0);
  return chunks;
}

/**
 * A complete response frame: size prefix, response header (v1 with an empty tag buffer for
 * flexible versions, v0 otherwise and always for ApiVersions) and the body. Records in the body
 * appear in the returned chunks by reference.
 */
export function encodeResponse(apiKey: number, apiVersion: number, correlationId: number, body: object): Buffer[] {
  const schema = schemaFor(apiKey);
  const w = frameWriter;
  try {
    w.writeInt32(0);
    encodeResponseHeader(w, { correlationId }, responseHeaderVersion(apiKey, apiVersion));
    schema.encodeResponse(w, body, apiVersion);
  } catch (err) {
    w.reset();
    throw err;
  }
  return finishFrame(w);
}

/**
 * What Kafka answers to an ApiVersions request whose version it does not support: a v0 body
 * (error UNSUPPORTED_VERSION, ApiKeys listing only ApiVersions with our range, no throttle time)
 * under response header v0. Clients retry with a version from that range.
 */
export function encodeApiVersionsUnsupported(
  correlationId: number,
  apiVersionsRange: { readonly min: number; readonly max: number },
): Buffer[] {
  const w = frameWriter;
  try {
    w.writeInt32(0);
    encodeResponseHeader(w, { correlationId }, 0);
    const apiKeys = [{ apiKey: ApiKey.ApiVersions, minVersion: apiVersionsRange.min, maxVersion: apiVersionsRange.max }];
    encodeApiVersionsResponse(w, { ...defaultApiVersionsResponse(), errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys }, 0);
  } catch (err) {
    w.reset();
    throw err;
  }
  return finishFrame(w);
}

/** A complete request frame (size prefix, header v1 or v2, body) as one buffer. */
export function encodeRequest(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
  body: object,
): Buffer {
  const schema = schemaFor(apiKey);
  const w = frameWriter;
  try {
    w.writeInt32(0);
    const header = { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId };
    encodeRequestHeader(w, header, requestHeaderVersion(apiKey, apiVersion));
    schema.encodeRequest(w, body, apiVersion);
  } catch (err) {
    w.reset();
    throw err;
  }
  const chunks = finishFrame(w);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/**
 * Decodes a complete response frame (size prefix included) of the given API version; `T` is the
 * caller's view of the body type (e.g. FetchResponse<Buffer>), which depends on apiKey.
 * Throws ProtocolError if the size prefix does not match or bytes are left over.
 */
export function decodeResponseFrame<T = unknown>(apiKey: number, apiVersion: number, frame: Buffer): { correlationId: number; body: T } {
  const schema = schemaFor(apiKey);
  const r = new Reader(frame);
  const sizeBytes = r.readInt32();
  if (sizeBytes !== r.remaining) {
    throw new ProtocolError(`frame size prefix says ${sizeBytes} bytes but ${r.remaining} follow`, 0);
  }
  const { correlationId } = decodeResponseHeader(r, responseHeaderVersion(apiKey, apiVersion));
  const body = schema.decodeResponse(r, apiVersion) as T;
  if (r.remaining !== 0) {
    throw new ProtocolError(`${r.remaining} bytes left after ${schema.name} response v${apiVersion}`, r.offset);
  }
  return { correlationId, body };
}
