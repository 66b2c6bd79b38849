// Who is connected to whom, from the OS: each established TCP connection between two known processes
// appears once on each side (one socket each); joining the two by their 4-tuple attributes it to the
// pair. The side whose process listens on its local port is the server.
import { isLoopback, tcpConnections, type TcpConnection } from './os-stats.ts';

export interface ProcessPairConnections {
  /** The side that opened the connection (the other one listens on that port); sorted names when neither does. */
  client: string;
  server: string;
  directionKnown: boolean;
  /** Live (ESTABLISHED) connections between the two. */
  connections: number;
}

export interface ProcessConnectionCounts {
  /** Established TCP connections the process holds. */
  established: number;
  /** ... of which to a loopback address. */
  loopback: number;
  /** ... of which the other end is one of the named processes (itself included). */
  toKnownProcess: number;
  /** ... of which the other end is not a named process (a database, a remote host, a process not in the map). */
  toOther: number;
}

export interface ConnectionMatrix {
  pairs: ProcessPairConnections[];
  perProcess: Record<string, ProcessConnectionCounts>;
  /** Names whose processes could not be read (exited, or not ours). */
  unreadable: string[];
}

type PidMap = Record<string, number | number[]> | Map<string, number | number[]>;

interface Owned { name: string; conn: TcpConnection }

const endpoint = (address: string, port: number): string => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);
const localKey = (c: TcpConnection): string => `${endpoint(c.localAddress, c.localPort)}>${endpoint(c.remoteAddress, c.remotePort)}`;
const peerKey = (c: TcpConnection): string => `${endpoint(c.remoteAddress, c.remotePort)}>${endpoint(c.localAddress, c.localPort)}`;

/**
 * Live TCP connections per pair of named processes. A name may stand for several pids (a process and
 * its workers); their sockets are pooled under the name.
 */
export function connectionMatrix(pids: PidMap): ConnectionMatrix {
  const entries = pids instanceof Map ? [...pids.entries()] : Object.entries(pids);
  const established: Owned[] = [];
  const listening = new Set<string>(); // `${name}|${port}`
  const perProcess: Record<string, ProcessConnectionCounts> = {};
  const unreadable: string[] = [];

  for (const [name, pidOrPids] of entries) {
    perProcess[name] = { established: 0, loopback: 0, toKnownProcess: 0, toOther: 0 };
    const seen = new Set<number>();
    for (const pid of Array.isArray(pidOrPids) ? pidOrPids : [pidOrPids]) {
      let conns: TcpConnection[];
      try {
        conns = tcpConnections(pid);
      } catch {
        if (!unreadable.includes(name)) unreadable.push(name);
        continue;
      }
      for (const c of conns) {
        if (seen.has(c.inode)) continue; // the same socket shared by two pids of one name
        seen.add(c.inode);
        if (c.state === 'LISTEN') listening.add(`${name}|${c.localPort}`);
        else if (c.state === 'ESTABLISHED') established.push({ name, conn: c });
      }
    }
  }

  const byLocal = new Map<string, Owned>();
  for (const o of established) byLocal.set(localKey(o.conn), o);

  const pairs = new Map<string, ProcessPairConnections>();
  for (const o of established) {
    const counts = perProcess[o.name];
    counts.established++;
    if (isLoopback(o.conn.remoteAddress)) counts.loopback++;
    const peer = byLocal.get(peerKey(o.conn));
    if (!peer) {
      counts.toOther++;
      continue;
    }
    counts.toKnownProcess++;
    if (localKey(o.conn) > localKey(peer.conn)) continue; // count each connection once, from one of its ends
    let client: string;
    let server: string;
    let directionKnown = true;
    if (listening.has(`${peer.name}|${peer.conn.localPort}`)) [client, server] = [o.name, peer.name];
    else if (listening.has(`${o.name}|${o.conn.localPort}`)) [client, server] = [peer.name, o.name];
    else {
      [client, server] = [o.name, peer.name].sort();
      directionKnown = false;
    }
    const key = `${client}\u0000${server}\u0000${directionKnown}`;
    const pair = pairs.get(key) ?? { client, server, directionKnown, connections: 0 };
    pair.connections++;
    pairs.set(key, pair);
  }

  const sorted = [...pairs.values()].sort((a, b) => a.client.localeCompare(b.client) || a.server.localeCompare(b.server));
  return { pairs: sorted, perProcess, unreadable };
}

/** Connections between two named processes in either direction. */
export function connectionsBetween(matrix: ConnectionMatrix, a: string, b: string): number {
  return matrix.pairs
    .filter((p) => (p.client === a && p.server === b) || (p.client === b && p.server === a))
    .reduce((sum, p) => sum + p.connections, 0);
}
