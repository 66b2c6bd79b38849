/**
 * What a window of load cost the machine, per OS process of the landscape (each system, the lake
 * sink, the broker, RabbitMQ) and the load generator apart: CPU seconds (utime + stime of
 * /proc/PID/stat), bytes handed to write() of any kind (wchar of /proc/PID/io: sockets, pipes and
 * files) and bytes caused to be written to storage (write_bytes), between two samples; and the
 * resident memory (VmRSS) at each sample.
 */
import { readFileSync } from 'node:fs';
import { cpuSeconds, ioBytes, isLoopback, pidsListeningOn, rssBytes } from '../../../systems/process/os-stats.ts';
import type { Supervisor } from '../../../systems/process/supervisor.ts';
import { BROKER_PROCESS, RABBITMQ_PROCESS } from '../context.ts';

/** What a process is to the landscape, for attributing its CPU. */
export type ProcessRole = 'system' | 'broker' | 'rabbitmq' | 'lake-sink';

export interface MeasuredProcess {
  name: string;
  pid: number;
  role: ProcessRole;
  /** False when /proc/PID/io cannot be read (another user's process without root): CPU only. */
  ioReadable: boolean;
}

export interface ProcessSample {
  pid: number;
  cpuS: number;
  writtenBytes: number | null;
  storageBytes?: number | null;
  /** VmRSS (null when /proc/PID/status cannot be read). */
  rssBytes?: number | null;
}

export interface CostSample {
  atMs: number;
  byName: Map<string, ProcessSample | null>;
}

export interface ProcessDelta {
  process: string;
  seconds: number;
  /** wchar delta (null when /proc/PID/io is unreadable). */
  writtenBytes: number | null;
  /** write_bytes delta (null when unreadable). */
  storageBytes: number | null;
  /** Mean VmRSS of the two samples (null when either could not be read). */
  rssBytes: number | null;
}

export interface StepCost {
  /** CPU seconds per process, most first. */
  perProcess: { process: string; seconds: number }[];
  /** The same with bytes, most CPU first. */
  deltas: ProcessDelta[];
  totalCpuS: number;
  /** wchar over the processes whose I/O could be read, with the runner's own answers taken out. */
  bytesWritten: number;
  /** write_bytes over the processes whose I/O could be read. */
  storageBytes: number;
  /** The process with the most CPU; '' when nothing was measured. */
  bottleneck: string;
  /** Why a process is missing from the figures (exited, restarted, unreadable). */
  problems: string[];
}

function canReadIo(pid: number): boolean {
  try {
    ioBytes(pid);
    return true;
  } catch {
    return false;
  }
}

/** The role of a supervised process by its name: the broker(s), the lake sink, else a system instance. */
export function roleOf(name: string): ProcessRole {
  if (name === BROKER_PROCESS || /^broker-\d+$/.test(name)) return 'broker';
  if (name === 'lake-sink') return 'lake-sink';
  if (name === RABBITMQ_PROCESS || /^rabbitmq-\d+$/.test(name)) return 'rabbitmq';
  return 'system';
}

/** The supervisor's live processes (systems, lake sink, broker), plus RabbitMQ when its pid is known. */
export function measuredProcesses(supervisor: Supervisor, rabbitPid: number | null): MeasuredProcess[] {
  const out: MeasuredProcess[] = [];
  for (const name of supervisor.names()) {
    const pid = supervisor.pid(name);
    if (pid !== null) out.push({ name, pid, role: roleOf(name), ioReadable: canReadIo(pid) });
  }
  if (rabbitPid !== null) out.push({ name: RABBITMQ_PROCESS, pid: rabbitPid, role: 'rabbitmq', ioReadable: canReadIo(rabbitPid) });
  return out;
}

export function sampleCost(procs: readonly Pick<MeasuredProcess, 'name' | 'pid' | 'ioReadable'>[]): CostSample {
  const byName = new Map<string, ProcessSample | null>();
  for (const p of procs) {
    try {
      const io = p.ioReadable ? ioBytes(p.pid) : null;
      byName.set(p.name, { pid: p.pid, cpuS: cpuSeconds(p.pid), writtenBytes: io?.writtenBytes ?? null, storageBytes: io?.storageBytes ?? null, rssBytes: rssOf(p.pid) });
    } catch {
      byName.set(p.name, null); // exited
    }
  }
  return { atMs: Date.now(), byName };
}

function rssOf(pid: number): number | null {
  try {
    return rssBytes(pid);
  } catch {
    return null;
  }
}

const meanOf = (a: number | null | undefined, b: number | null | undefined): number | null =>
  (a === null || a === undefined || b === null || b === undefined ? null : Math.round((a + b) / 2));

const delta = (a: number | null | undefined, b: number | null | undefined, discount = 0): number | null =>
  a === null || a === undefined || b === null || b === undefined ? null : Math.max(0, b - a - discount);

/** The cost between two samples; `discountBytes` are bytes per process the runner itself caused (its own reads of the processes). */
export function costBetween(a: CostSample, b: CostSample, discountBytes: ReadonlyMap<string, number> = new Map()): StepCost {
  const deltas: ProcessDelta[] = [];
  const problems: string[] = [];
  for (const [name, before] of a.byName) {
    const after = b.byName.get(name);
    if (!before || !after) {
      problems.push(`${name}: not running at ${before ? 'the end' : 'the start'} of the window, left out`);
      continue;
    }
    if (before.pid !== after.pid) {
      problems.push(`${name}: restarted during the window (pid ${before.pid} -> ${after.pid}), left out`);
      continue;
    }
    deltas.push({
      process: name,
      seconds: round(Math.max(0, after.cpuS - before.cpuS), 3),
      writtenBytes: delta(before.writtenBytes, after.writtenBytes, discountBytes.get(name) ?? 0),
      storageBytes: delta(before.storageBytes, after.storageBytes),
      rssBytes: meanOf(before.rssBytes, after.rssBytes),
    });
  }
  deltas.sort((x, y) => y.seconds - x.seconds || (x.process < y.process ? -1 : 1));
  const totalCpuS = deltas.reduce((s, p) => s + p.seconds, 0);
  return {
    perProcess: deltas.map((d) => ({ process: d.process, seconds: d.seconds })),
    deltas,
    totalCpuS,
    bytesWritten: deltas.reduce((s, d) => s + (d.writtenBytes ?? 0), 0),
    storageBytes: deltas.reduce((s, d) => s + (d.storageBytes ?? 0), 0),
    bottleneck: deltas[0]?.process ?? '',
    problems,
  };
}

export interface RabbitMqProcess {
  pid: number | null;
  /** What was found, or why RabbitMQ's CPU is left out. */
  note: string;
}

/**
 * The RabbitMQ server process behind an AMQP URL: the owner of the LISTEN socket of its port on
 * this machine (/proc/net/tcp inode -> /proc/PID/fd), if that is an Erlang VM (beam.smp). A
 * RabbitMQ in a container shows docker-proxy here (or nothing), and a remote one nothing: then its
 * CPU is not measured, and the note says so.
 */
export function findRabbitMq(amqpUrl: string): RabbitMqProcess {
  let url: URL;
  try {
    url = new URL(amqpUrl);
  } catch {
    return { pid: null, note: 'RabbitMQ CPU not measured: the AMQP URL does not parse' };
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'amqps:' ? 5671 : 5672));
  if (!(isLoopback(host) || host === 'localhost')) return { pid: null, note: `RabbitMQ CPU not measured: it runs on ${host}, not on this machine` };
  let found: ReturnType<typeof pidsListeningOn>;
  try {
    found = pidsListeningOn(port);
  } catch (err) {
    return { pid: null, note: `RabbitMQ CPU not measured: cannot read the TCP table (${(err as Error).message})` };
  }
  if (found.pids.length === 0) {
    const why = found.inodes.length === 0
      ? `no LISTEN socket on port ${port} in this network namespace`
      : `the owner of port ${port}'s LISTEN socket is not visible (${found.unreadable} process(es) whose fds could not be read: not root?)`;
    return { pid: null, note: `RabbitMQ CPU not measured: ${why}` };
  }
  const pid = found.pids[0];
  const comm = commOf(pid);
  if (comm !== 'beam.smp') return { pid: null, note: `RabbitMQ CPU not measured: port ${port} is held by ${comm ?? '?'} (pid ${pid}), not an Erlang VM (a container's proxy?)` };
  const io = canReadIo(pid) ? '' : '; its /proc/PID/io is not readable, so its bytes are left out';
  return { pid, note: `RabbitMQ: beam.smp pid ${pid} (owner of port ${port}); shared with anyone else using it during the run${io}` };
}

function commOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
