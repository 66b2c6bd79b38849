/**
 * Removes one member from a consumer group with two standard Kafka requests over a plain socket:
 * FindCoordinator v1 to a bootstrap broker, then LeaveGroup v1 with the member id to the group's
 * coordinator. The hub wiring uses it when a system process restarts after a crash (kill -9): the
 * dead incarnation never said goodbye, so without this the group would wait out its session (10 s)
 * before the new incarnation's join completes (see memberMemory in kafka-client.ts).
 *
 * Why a raw request: kafkajs leaves a group only as the member it is itself, its admin client cannot
 * remove a dynamic member, and its consumer sends no group.instance.id (static membership, KIP-345).
 * Both versions are served by Kafka 0.11 to 4.x, Redpanda and our broker, so the wiring still works
 * against any Kafka cluster (no TLS or SASL here, as createKafka configures none).
 */
import net from 'node:net';

/** 'left': the member was removed; 'not-a-member': the group does not know it (gone already). */
export type LeaveOutcome = { kind: 'left' } | { kind: 'not-a-member' } | { kind: 'failed'; reason: string };

export interface LeaveGroupOptions {
  /** host:port of each bootstrap broker; tried in turn. */
  brokers: readonly string[];
  clientId: string;
  groupId: string;
  memberId: string;
  /** The whole attempt, retries included. */
  timeoutMs: number;
}

const API_FIND_COORDINATOR = 10;
const API_LEAVE_GROUP = 13;
const VERSION = 1;
const COORDINATOR_TYPE_GROUP = 0;
const NONE = 0;
/** COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR: ask again. */
const RETRIABLE = new Set([14, 15, 16]);
/** UNKNOWN_MEMBER_ID, GROUP_ID_NOT_FOUND: nothing to remove. */
const NOT_A_MEMBER = new Set([25, 69]);
/** Both responses are a few dozen bytes; anything larger is not one of them. */
const RESPONSE_BYTES_MAX = 64 * 1024;

/** Removes `memberId` from `groupId`; never throws (a failure is an outcome with the reason). */
export async function leaveGroupAs(o: LeaveGroupOptions): Promise<LeaveOutcome> {
  if (o.brokers.length === 0) return { kind: 'failed', reason: 'no bootstrap broker' };
  const deadline = Date.now() + o.timeoutMs;
  let reason = 'timed out';
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    try {
      const coordinator = await findCoordinator(parseHostPort(o.brokers[attempt % o.brokers.length]), o, deadline);
      if (typeof coordinator === 'number') {
        reason = `FindCoordinator error ${coordinator}`;
        if (!RETRIABLE.has(coordinator)) return { kind: 'failed', reason };
      } else {
        const errorCode = await leave(coordinator, o, deadline);
        if (errorCode === NONE) return { kind: 'left' };
        if (NOT_A_MEMBER.has(errorCode)) return { kind: 'not-a-member' };
        reason = `LeaveGroup error ${errorCode}`;
        if (!RETRIABLE.has(errorCode)) return { kind: 'failed', reason };
      }
    } catch (err) {
      reason = (err as Error).message;
    }
    await sleep(Math.min(100 * 2 ** attempt, 500, Math.max(0, deadline - Date.now())));
  }
  return { kind: 'failed', reason };
}

interface HostPort {
  host: string;
  port: number;
}

function parseHostPort(address: string): HostPort {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not a host:port: ${address}`);
  return { host: address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port };
}

/** The coordinator's address, or FindCoordinator's error code. */
async function findCoordinator(bootstrap: HostPort, o: LeaveGroupOptions, deadline: number): Promise<HostPort | number> {
  const body = Buffer.concat([str(o.groupId), Buffer.from([COORDINATOR_TYPE_GROUP])]);
  const r = new Reader(await roundTrip(bootstrap, API_FIND_COORDINATOR, body, o.clientId, deadline));
  r.int32(); // throttle_time_ms
  const errorCode = r.int16();
  r.nullableString(); // error_message
  r.int32(); // node_id
  const host = r.nullableString() ?? '';
  const port = r.int32();
  return errorCode === NONE ? { host, port } : errorCode;
}

/** LeaveGroup's error code. */
async function leave(coordinator: HostPort, o: LeaveGroupOptions, deadline: number): Promise<number> {
  const r = new Reader(await roundTrip(coordinator, API_LEAVE_GROUP, Buffer.concat([str(o.groupId), str(o.memberId)]), o.clientId, deadline));
  r.int32(); // throttle_time_ms
  return r.int16();
}

/** One request on a fresh connection: the response body after the correlation id. */
function roundTrip(to: HostPort, apiKey: number, body: Buffer, clientId: string, deadline: number): Promise<Buffer> {
  const correlationId = 1;
  const header = Buffer.alloc(8);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(VERSION, 2);
  header.writeInt32BE(correlationId, 4);
  const payload = Buffer.concat([header, str(clientId), body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return new Promise<Buffer>((resolve, reject) => {
    const socket = net.connect({ host: to.host, port: to.port });
    let received = Buffer.alloc(0);
    let settled = false;
    const done = (err: Error | null, response?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(response as Buffer);
    };
    const timer = setTimeout(() => done(new Error(`no answer from ${to.host}:${to.port} in time`)), Math.max(1, deadline - Date.now()));
    socket.once('error', (err) => done(new Error(`${to.host}:${to.port}: ${err.message}`)));
    socket.once('close', () => done(new Error(`${to.host}:${to.port} closed the connection`)));
    socket.once('connect', () => socket.write(Buffer.concat([size, payload])));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const length = received.readInt32BE(0);
      if (length < 4 || length > RESPONSE_BYTES_MAX) return done(new Error(`${to.host}:${to.port} sent a frame of ${length} bytes`));
      if (received.length < 4 + length) return;
      if (received.readInt32BE(4) !== correlationId) return done(new Error(`${to.host}:${to.port} answered another request`));
      done(null, received.subarray(8, 4 + length));
    });
  });
}

/** A classic (non-nullable) STRING: int16 length and UTF-8 bytes. */
function str(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length > 0x7fff) throw new Error(`string of ${bytes.length} bytes is too long for the Kafka protocol`);
  const out = Buffer.alloc(2 + bytes.length);
  out.writeInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

class Reader {
  private at = 0;

  constructor(private readonly buf: Buffer) {}

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.at);
    this.at += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.at);
    this.at += 4;
    return v;
  }

  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    this.need(length);
    const s = this.buf.toString('utf8', this.at, this.at + length);
    this.at += length;
    return s;
  }

  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new Error('truncated response');
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
