// Per-process numbers straight from Linux /proc: CPU seconds, bytes written, resident memory, and
// live TCP connections (the process's socket inodes joined with its network namespace's tcp/tcp6
// tables).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface CpuTimes {
  userSeconds: number;
  systemSeconds: number;
  /** user + system */
  cpuSeconds: number;
}

export type TcpState =
  | 'ESTABLISHED' | 'SYN_SENT' | 'SYN_RECV' | 'FIN_WAIT1' | 'FIN_WAIT2' | 'TIME_WAIT' | 'CLOSE'
  | 'CLOSE_WAIT' | 'LAST_ACK' | 'LISTEN' | 'CLOSING' | 'NEW_SYN_RECV' | 'UNKNOWN';

export interface TcpConnection {
  inode: number;
  family: 4 | 6;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: TcpState;
}

const TCP_STATES: Record<number, TcpState> = {
  1: 'ESTABLISHED', 2: 'SYN_SENT', 3: 'SYN_RECV', 4: 'FIN_WAIT1', 5: 'FIN_WAIT2', 6: 'TIME_WAIT', 7: 'CLOSE',
  8: 'CLOSE_WAIT', 9: 'LAST_ACK', 10: 'LISTEN', 11: 'CLOSING', 12: 'NEW_SYN_RECV',
};

let clockTicksPerSecond: number | null = null;

/** sysconf(_SC_CLK_TCK), read once through `getconf CLK_TCK`; 100 (Linux's fixed USER_HZ) if that fails. */
export function clockTicks(): number {
  if (clockTicksPerSecond === null) {
    try {
      const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim());
      clockTicksPerSecond = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

function readProc(pid: number, file: string): string {
  assertPid(pid);
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') throw new Error(`process ${pid} does not exist (no /proc/${pid}/${file})`, { cause: err });
    throw new Error(`cannot read /proc/${pid}/${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Fields of /proc/PID/stat from field 3 (state) on; the command name may contain spaces and ')'. */
function statFields(pid: number): string[] {
  const stat = readProc(pid, 'stat');
  return stat.slice(stat.lastIndexOf(')') + 2).trim().split(/\s+/);
}

/**
 * CPU time used by a process (utime + stime of /proc/PID/stat). With includeReapedChildren, adds
 * cutime + cstime: children it has waited for (not children still running).
 */
export function cpuTimes(pid: number, opts: { includeReapedChildren?: boolean } = {}): CpuTimes {
  const f = statFields(pid); // f[0] is field 3, so utime (14) is f[11]
  const tick = clockTicks();
  let user = Number(f[11]);
  let system = Number(f[12]);
  if (opts.includeReapedChildren) {
    user += Number(f[13]);
    system += Number(f[14]);
  }
  return { userSeconds: user / tick, systemSeconds: system / tick, cpuSeconds: (user + system) / tick };
}

export function cpuSeconds(pid: number): number {
  return cpuTimes(pid).cpuSeconds;
}

export interface IoBytes {
  /** Bytes the process asked read()/readv()/pread()/sendfile()... to read: files, pipes, sockets (rchar). */
  readBytes: number;
  /**
   * Bytes it handed to write()/writev()/pwrite()/sendfile()/splice() (wchar): file, pipe and socket
   * writes alike, whether or not they reached a disk. Node (libuv) and Erlang write TCP streams with
   * write()/writev(), so their network output is in here; send()/sendto()/sendmsg() are not counted
   * by Linux (UDP senders and some TCP clients use them), and neither are mmap'ed file writes.
   */
  writtenBytes: number;
  /**
   * Bytes it caused to be sent to storage (write_bytes): counted when a page of a file is dirtied,
   * so page-granular, and 0 for files on tmpfs; what disk writes cost, unlike wchar.
   */
  storageBytes: number;
}

/**
 * Cumulative I/O of a process from /proc/PID/io (rchar, wchar, write_bytes), counted by the kernel since the
 * process started, for every thread, dead ones included. Reading another user's /proc/PID/io needs
 * ptrace rights (root, or the same user): without them this throws "cannot read".
 */
export function ioBytes(pid: number): IoBytes {
  const fields = new Map<string, number>();
  for (const line of readProc(pid, 'io').split('\n')) {
    const m = /^(\w+):\s+(\d+)$/.exec(line.trim());
    if (m) fields.set(m[1], Number(m[2]));
  }
  const field = (name: string): number => {
    const v = fields.get(name);
    if (v === undefined) throw new Error(`/proc/${pid}/io has no ${name} line`);
    return v;
  };
  return { readBytes: field('rchar'), writtenBytes: field('wchar'), storageBytes: field('write_bytes') };
}

/** Resident set size in bytes (VmRSS of /proc/PID/status); 0 for a zombie. */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readProc(pid, 'status'));
  return m ? Number(m[1]) * 1024 : 0;
}

export function parentPid(pid: number): number {
  return Number(statFields(pid)[1]);
}

/** Every live process whose ancestry leads to `pid` (children, grandchildren, ...), not `pid` itself. */
export function descendantPids(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = parentPid(Number(entry));
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // exited while we looked
    }
  }
  const out: number[] = [];
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Inodes of the sockets a process holds open (/proc/PID/fd links of the form socket:[N]). */
export function socketInodes(pid: number): Set<number> {
  assertPid(pid);
  const inodes = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch (err) {
    throw new Error(`cannot list /proc/${pid}/fd: ${(err as Error).message}`, { cause: err });
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(Number(m[1]));
    } catch {
      // fd closed while we looked
    }
  }
  return inodes;
}

/** All rows of the TCP tables as seen from `pid`'s network namespace (/proc/PID/net/tcp and tcp6). */
export function tcpTable(pid: number | 'self' = 'self'): TcpConnection[] {
  const rows: TcpConnection[] = [];
  for (const [file, family] of [['tcp', 4], ['tcp6', 6]] as const) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue; // e.g. no IPv6 in this kernel
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const local = parseEndpoint(cols[1], family);
      const remote = parseEndpoint(cols[2], family);
      rows.push({
        inode: Number(cols[9]), family,
        localAddress: local.address, localPort: local.port,
        remoteAddress: remote.address, remotePort: remote.port,
        state: TCP_STATES[parseInt(cols[3], 16)] ?? 'UNKNOWN',
      });
    }
  }
  return rows;
}

/** The TCP sockets `pid` holds, in every state (filter on state === 'ESTABLISHED' for live connections). */
export function tcpConnections(pid: number): TcpConnection[] {
  const inodes = socketInodes(pid);
  if (inodes.size === 0) return [];
  return tcpTable(pid).filter((row) => row.inode !== 0 && inodes.has(row.inode));
}

/**
 * The processes holding the LISTEN socket of a TCP port in this network namespace: the port's
 * socket inode from /proc/net/tcp{,6}, then every /proc/PID/fd that links to it (reading other
 * users' fds needs root). `unreadable` counts processes whose fds could not be listed, so an empty
 * answer can be told apart from "not allowed to look".
 */
export function pidsListeningOn(port: number): { pids: number[]; unreadable: number; inodes: number[] } {
  const inodes = new Set(tcpTable('self').filter((r) => r.state === 'LISTEN' && r.localPort === port && r.inode !== 0).map((r) => r.inode));
  const pids: number[] = [];
  let unreadable = 0;
  if (inodes.size === 0) return { pids, unreadable, inodes: [] };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let held: Set<number>;
    try {
      held = socketInodes(Number(entry));
    } catch {
      if (existsSync(`/proc/${entry}`)) unreadable++;
      continue;
    }
    for (const inode of inodes) {
      if (held.has(inode)) {
        pids.push(Number(entry));
        break;
      }
    }
  }
  return { pids, unreadable, inodes: [...inodes] };
}

/** "0100007F:1F90" (IPv4, 32-bit words in host order, little-endian here) or 32 hex digits (IPv6). */
function parseEndpoint(hex: string, family: 4 | 6): { address: string; port: number } {
  const [addrHex, portHex] = hex.split(':');
  const port = parseInt(portHex, 16);
  const bytes: number[] = [];
  for (let w = 0; w < addrHex.length; w += 8) {
    const word = addrHex.slice(w, w + 8);
    for (let b = 6; b >= 0; b -= 2) bytes.push(parseInt(word.slice(b, b + 2), 16));
  }
  if (family === 4) return { address: bytes.join('.'), port };
  const isV4Mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (isV4Mapped) return { address: bytes.slice(12).join('.'), port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return { address: compressIpv6(groups), port };
}

function compressIpv6(groups: string[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

function assertPid(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`not a process id: ${pid}`);
}

export { connectionMatrix, connectionsBetween, type ConnectionMatrix, type ProcessPairConnections, type ProcessConnectionCounts } from './connection-matrix.ts';
