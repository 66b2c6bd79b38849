/**
 * Where the CPU of a cost point went, per order: from the processes' CPU over the window
 * (/proc/PID/stat, sampled from outside) and each system's own account of its parts (GET /cpu:
 * declared work, rules, serialization, lake export, measured inside around that code), so:
 *  - a system's transport (clients, sockets, timers, GC, the runtime) is its own total minus its
 *    measured parts;
 *  - the broker or RabbitMQ, and the hub's lake sink, are their processes (the lake sink's
 *    serialization counted as serialization);
 *  - the parts come from the processes' own accounts and the total from /proc: two measurements,
 *    and `unattributedMsPerOrder` is their disagreement (sampling skew, a process that did not
 *    answer), which a check holds under 5 %.
 * Bytes: write_bytes (storage) and wchar minus write_bytes (sockets and pipes), per order. Memory:
 * each process's resident memory (VmRSS, the mean of the window's two samples) and their sum.
 */
import type { CostPoint, CpuParts } from '../../../report/model-throughput.ts';
import { costBetween } from './cost.ts';
import type { CpuAccount, PointMeasurement } from './point.ts';
import type { MeasuredProcess } from './cost.ts';

const ZERO: CpuParts = { declaredWork: 0, rules: 0, serialization: 0, transport: 0, lakeExport: 0, broker: 0, lakeWriter: 0 };
const PART_OF_ACCOUNT: Record<string, keyof CpuParts> = { declaredWork: 'declaredWork', rules: 'rules', serialization: 'serialization', lakeExport: 'lakeExport' };

function accountDelta(a: CpuAccount | undefined, b: CpuAccount | undefined): { totalMs: number; parts: Partial<Record<keyof CpuParts, number>> } | null {
  if (!a || !b || a.pid !== b.pid) return null;
  const parts: Partial<Record<keyof CpuParts, number>> = {};
  for (const [name, us] of Object.entries(b.partsUs)) {
    const part = PART_OF_ACCOUNT[name];
    if (part) parts[part] = Math.max(0, (us - (a.partsUs[name] ?? 0)) / 1000);
  }
  return { totalMs: Math.max(0, (b.totalUs - a.totalUs) / 1000), parts };
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

export interface Attribution {
  cost: Omit<CostPoint, 'ratePerS' | 'rampS' | 'windowS' | 'point'>;
  problems: string[];
}

/** The cost point's figures from its measurement; `procs` says each process's role. */
export function attributeCost(m: PointMeasurement, procs: readonly MeasuredProcess[]): Attribution {
  const problems: string[] = [];
  const orders = m.point.sent;
  const per = (x: number): number => (orders === 0 ? 0 : x / orders);
  const window = costBetween(m.start.procs, m.end.procs);
  problems.push(...window.problems);
  const roleOf = new Map(procs.map((p) => [p.name, p.role]));
  const parts: CpuParts = { ...ZERO };
  const perProcess: CostPoint['perProcess'] = [];
  for (const d of window.deltas) {
    const role = roleOf.get(d.process) ?? 'system';
    const ms = d.seconds * 1000;
    const own: Partial<CpuParts> = {};
    if (role === 'broker' || role === 'rabbitmq') own.broker = ms;
    else {
      const acc = accountDelta(m.start.accounts.get(d.process), m.end.accounts.get(d.process));
      if (!acc) {
        problems.push(`${d.process}: no CPU account of its own over the window (it did not answer GET /cpu, or restarted): all its CPU counted as ${role === 'lake-sink' ? 'lake writer' : 'transport'}`);
        if (role === 'lake-sink') own.lakeWriter = ms;
        else own.transport = ms;
      } else {
        const measured = Object.values(acc.parts).reduce((s, x) => s + (x ?? 0), 0);
        Object.assign(own, acc.parts);
        // The rest of the process's own total: what runs outside the measured parts.
        const rest = Math.max(0, acc.totalMs - measured);
        if (role === 'lake-sink') own.lakeWriter = rest;
        else own.transport = rest;
      }
    }
    for (const [k, v] of Object.entries(own) as [keyof CpuParts, number][]) parts[k] += v;
    perProcess.push({ process: d.process, role, cpuMsPerS: r3(ms / (m.windowMs / 1000)), msPerOrder: r3(per(ms)), parts: Object.fromEntries(Object.entries(own).map(([k, v]) => [k, r3(per(v))])),
      ...(d.rssBytes === null ? {} : { rssBytes: d.rssBytes }) });
  }
  const totalMs = window.totalCpuS * 1000;
  const partsPerOrder = Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, r3(per(v))])) as CpuParts;
  const sumParts = Object.values(parts).reduce((s, x) => s + x, 0);
  const integration = parts.serialization + parts.transport + parts.lakeExport + parts.broker + parts.lakeWriter;
  const roots = new Set(m.windowRoots);
  let records = 0;
  for (const root of roots) records += (m.expectation.lakeKeys.get(root)?.length ?? 0) + (m.expectation.receiverKeys.get(root)?.length ?? 0);
  const recordsPerOrder = roots.size === 0 ? 0 : records / roots.size;
  const storage = window.deltas.reduce((s, d) => s + (d.storageBytes ?? 0), 0);
  // Per process, so one whose storage writes exceed its wchar (mmap'ed or page-rounded writes) does not cancel another's socket bytes.
  const socket = window.deltas.reduce((s, d) => s + (d.writtenBytes === null ? 0 : Math.max(0, d.writtenBytes - (d.storageBytes ?? 0))), 0);
  const unreadable = window.deltas.filter((d) => d.writtenBytes === null).map((d) => d.process);
  if (unreadable.length > 0) problems.push(`bytes not counted for ${unreadable.join(', ')} (/proc/PID/io not readable)`);
  const noRss = window.deltas.filter((d) => d.rssBytes === null).map((d) => d.process);
  if (noRss.length > 0) problems.push(`resident memory not counted for ${noRss.join(', ')} (/proc/PID/status not readable)`);
  const loadgen = costBetween(m.start.loadgen, m.end.loadgen);
  return {
    cost: {
      orders,
      accepted: m.point.accepted,
      cpuMsPerOrder: r3(per(totalMs)),
      parts: partsPerOrder,
      unattributedMsPerOrder: r3(per(sumParts - totalMs)),
      perProcess: perProcess.sort((a, b) => b.msPerOrder - a.msPerOrder),
      recordsPerOrder: Math.round(recordsPerOrder * 100) / 100,
      integrationMsPerRecord: records === 0 ? 0 : r3(integration / records),
      diskBytesPerOrder: Math.round(per(storage)),
      socketBytesPerOrder: Math.round(per(socket)),
      rssBytesTotal: window.deltas.reduce((s, d) => s + (d.rssBytes ?? 0), 0),
      loadgenMsPerOrder: r3(per(loadgen.totalCpuS * 1000)),
    },
    problems,
  };
}
