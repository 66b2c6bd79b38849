/**
 * Where a system process spends its CPU, measured inside the process: a benchmark divides a
 * system's CPU per order into the systems' declared work (the topology's cost per record), the
 * rules (validation and the rules that make outputs), serialization (records to and from JSON,
 * XML and CSV), the legacy lake exports, and the rest (transport clients, HTTP, the runtime),
 * which is the process total minus the parts.
 *
 * Hand-written because nothing off the shelf measures this: profilers sample stacks (wall time, or
 * CPU only when attached, and at a cost far above a counter), perf_hooks measures wall time, and
 * process.cpuUsage() alone says how much CPU the whole process used, not what for. Here a section
 * reads process.cpuUsage() (user + system µs) when it starts and when it ends, one call at each
 * boundary. Sections nest and are exclusive: the CPU of a section run inside another is counted
 * in the inner part only and taken off the outer one (a stack of open sections, each adding its
 * whole time to its parent's child time), so the parts never count the same microsecond twice.
 * A section that throws still counts.
 *
 * Limits:
 * - Synchronous sections only (a function returning a promise is refused): once the event loop
 *   runs something else, the CPU in between is no longer the section's.
 * - process.cpuUsage() counts every thread of the process: GC helper threads, or a libuv pool
 *   thread compressing or hashing, running while a section is open count towards that section.
 * - Asynchronous work started in a section (fs writes on the libuv pool, socket writes finishing
 *   later) is in no section; it stays in the remainder.
 * - Each section costs two getrusage calls, about 2 µs on the reference machine (AMD EPYC):
 *   about half of that, what runs between the two readings, lands in the section's part, the
 *   rest in the remainder. A section around a few microseconds of work is mostly overhead:
 *   measure a loop, not each turn of it.
 */

export type CpuPart = 'declaredWork' | 'rules' | 'serialization' | 'lakeExport';

/** Every part, in the order a report lists them. */
export const CPU_PARTS: readonly CpuPart[] = ['declaredWork', 'rules', 'serialization', 'lakeExport'];

/** What GET /cpu answers: the process's CPU so far and the parts of it measured in sections. */
export interface CpuSnapshot {
  pid: number;
  /** process.cpuUsage() user + system, µs, since the process started. */
  totalUs: number;
  /** CPU measured in sections of each part, µs, exclusive of nested sections of other parts. */
  partsUs: Record<CpuPart, number>;
}

/** An open section: the CPU its nested sections took, to be taken off its own. */
interface Frame {
  childUs: number;
}

const partsUs: Record<CpuPart, number> = { declaredWork: 0, rules: 0, serialization: 0, lakeExport: 0 };
const open: Frame[] = [];

function cpuNowUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * Runs `fn` and counts the CPU it took to `part`, less what sections nested in it took (those
 * count to their own part). `fn` must be synchronous.
 */
export function measureCpu<T>(part: CpuPart, fn: () => T): T {
  const frame: Frame = { childUs: 0 };
  open.push(frame);
  const startUs = cpuNowUs();
  let result: T;
  try {
    result = fn();
  } finally {
    const elapsedUs = Math.max(0, cpuNowUs() - startUs);
    open.pop();
    partsUs[part] += Math.max(0, elapsedUs - frame.childUs);
    const parent = open[open.length - 1];
    if (parent) parent.childUs += elapsedUs;
  }
  // Counted all the same: the synchronous part ran. Refused so that a caller does not believe the
  // awaited rest was measured.
  if (typeof (result as { then?: unknown } | null)?.then === 'function') throw new TypeError(`measureCpu(${part}): the section returned a promise; only synchronous sections can be measured`);
  return result;
}

/** The process's CPU now and the parts so far (copies: the caller may keep them). */
export function cpuSnapshot(): CpuSnapshot {
  return { pid: process.pid, totalUs: cpuNowUs(), partsUs: { ...partsUs } };
}
