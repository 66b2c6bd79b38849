/**
 * An open-loop load generator in its own OS process, for the throughput runner's rate search: the
 * orders of a run go out on a fixed schedule whatever the ingress does (order i is due at
 * startMs + i * 1000 / ratePerS), and every latency is taken from the order's intended send time.
 * A stalled server therefore cannot hide its queueing by slowing the sender down (no coordinated
 * omission, as in wrk2 and the OpenMessaging Benchmark).
 *
 * Why a separate process: the generator's timer loop must not share an event loop (or its garbage
 * collections) with the runner that samples CPU and memory, and its own CPU use is measured apart
 * from everything else. The child (open-loop-process.ts) is forked with an IPC channel; the orders
 * go over it in bounded chunks, the results come back as a few typed arrays. The child exits when
 * the channel closes, so it cannot outlive this process, even one killed with SIGKILL.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RingBuffer } from '../../systems/process/ring-buffer.ts';

export interface ScheduledOrder {
  /** Where the order is posted on the ingress, e.g. '/ingress/order'. */
  path: string;
  /** The JSON text posted. */
  body: string;
}

export interface OpenLoopRun {
  /** http://127.0.0.1:PORT */
  ingressUrl: string;
  /** Order i is due at startMs + i * 1000 / ratePerS; the run lasts orders.length / ratePerS seconds. */
  orders: readonly ScheduledOrder[];
  ratePerS: number;
  /** Per request, from its send (default 10 000). */
  timeoutMs?: number;
  /** Default 1024; an order due while this many are in flight is not sent and counts as 'overload'. */
  inFlightMax?: number;
}

/** An HTTP status, or why there is none. */
export type OrderOutcome = number | 'timeout' | 'connection' | 'overload';

/** Epoch milliseconds (fractional), all on this machine's clock. An 'overload' order has sentMs = endedMs = when it was turned away. */
export interface OrderResult { i: number; intendedMs: number; sentMs: number; endedMs: number; outcome: OrderOutcome }

export interface OpenLoopResult {
  startMs: number;
  /** Index i is order i. */
  results: OrderResult[];
  /** The child's own CPU (user + system) from the schedule's start until its last order ended. */
  cpuS: number;
  /** Orders sent more than LATE_SEND_MS after their intended time: the generator itself fell behind. */
  lateSends: number;
}

/** The most orders one run takes: the orders and results of a run travel over IPC and are held whole on both sides. */
export const OPEN_LOOP_ORDERS_MAX = 200_000;
/** The most bytes of paths and bodies one run takes (about 670 bytes an order at the largest run). */
export const OPEN_LOOP_ORDER_BYTES_MAX = 128 * 1024 * 1024;
export const LATE_SEND_MS = 10;

// The wire between the two processes (advanced serialization: typed arrays cross as they are).
// Outcome codes: an HTTP status as is, or one of these below 0.
export const OUTCOME_TIMEOUT = -1;
export const OUTCOME_CONNECTION = -2;
export const OUTCOME_OVERLOAD = -3;
/** Orders per IPC message, so no single message (or the channel's write queue) grows with the run. */
export const ORDERS_PER_MESSAGE = 10_000;

export type ToChild =
  | { type: 'orders'; orders: ScheduledOrder[] }
  | { type: 'run'; ingressUrl: string; count: number; ratePerS: number; timeoutMs: number; inFlightMax: number };

export type FromChild =
  | { type: 'ready'; pid: number }
  | { type: 'started'; startMs: number }
  /** Times are milliseconds from startMs. */
  | { type: 'done'; startMs: number; sentMs: Float64Array; endedMs: Float64Array; outcome: Int32Array; cpuS: number; lateSends: number }
  | { type: 'failed'; message: string };

const CHILD_ENTRY = fileURLToPath(new URL('./open-loop-process.ts', import.meta.url));
/** tsx's loader by absolute URL, so the child starts whatever the working directory is. */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
/** tsx compiles the child on start; two shared cores under a test suite can make that slow. */
const READY_TIMEOUT_MS = 30_000;
const CLOSE_WAIT_MS = 5_000;
const STDERR_LINES = 20;

interface PendingRun {
  count: number;
  ratePerS: number;
  onStart?: (startMs: number) => void;
  /** What onStart threw: the run goes on in the child, and run() rejects with it once the run is over. */
  hookError?: Error;
  resolve: (r: OpenLoopResult) => void;
  reject: (e: Error) => void;
}

export class OpenLoopGenerator {
  private pending: PendingRun | null = null;
  private exitReason: string | null = null;
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess, readonly pid: number, private readonly output: RingBuffer, ended: Promise<string>) {
    this.exited = ended.then((reason) => {
      this.exitReason = reason;
      this.failPending(`open-loop generator (pid ${pid}) ${reason} during a run`);
    });
    child.on('message', (m: FromChild) => this.onMessage(m));
    // Without a listener a ChildProcess 'error' (a failed signal, say) would throw in this process.
    child.on('error', (err) => this.failPending(`open-loop generator (pid ${pid}): ${err.message}`));
  }

  /** Forks the generator process and resolves once it says it is ready. */
  static async start(opts: { logFile?: string } = {}): Promise<OpenLoopGenerator> {
    const child = fork(CHILD_ENTRY, [], {
      execArgv: ['--import', TSX_LOADER],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : null;
    log?.write(`--- open-loop generator pid ${child.pid ?? '?'} at ${new Date().toISOString()} ---\n`);
    const output = new RingBuffer(64 * 1024);
    const onOutput = (b: Buffer) => { output.write(b); log?.write(b); };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    const ended = endOf(child).then((reason) => { log?.end(); return reason; });
    const outcome = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => done(`it did not report ready within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
      const onMessage = (m: FromChild) => { if (m.type === 'ready') done(m.pid); };
      const onError = (err: Error) => done(`it could not be spawned: ${err.message}`);
      function done(v: number | string): void {
        clearTimeout(timer);
        child.off('message', onMessage).off('error', onError);
        resolve(v);
      }
      child.on('message', onMessage).once('error', onError);
      void ended.then((reason) => done(`it ${reason} before it was ready`));
    });
    if (typeof outcome === 'string') {
      if (child.pid !== undefined) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await ended;
      } else {
        log?.end();
      }
      throw new Error(`open-loop generator: ${outcome}${tail(output)}`);
    }
    return new OpenLoopGenerator(child, outcome, output, ended);
  }

  /** Runs one schedule; one run at a time. Rejects if the child reports a failure or dies. */
  async run(run: OpenLoopRun, hooks: { onStart?: (startMs: number) => void } = {}): Promise<OpenLoopResult> {
    if (this.exitReason) throw new Error(`open-loop generator (pid ${this.pid}) has ${this.exitReason}${tail(this.output)}`);
    if (this.pending) throw new Error('open-loop generator: a run is already under way (one run at a time)');
    const wire = checkRun(run);
    const pending = new Promise<OpenLoopResult>((resolve, reject) => {
      this.pending = { count: run.orders.length, ratePerS: run.ratePerS, onStart: hooks.onStart, resolve, reject };
    });
    // The chunks go one at a time, each once the previous one is written: the channel's write queue
    // never holds more than one chunk.
    try {
      for (let from = 0; from < run.orders.length; from += ORDERS_PER_MESSAGE) {
        await this.send({ type: 'orders', orders: run.orders.slice(from, from + ORDERS_PER_MESSAGE) });
      }
      await this.send(wire);
    } catch (err) {
      this.failPending(`open-loop generator (pid ${this.pid}): cannot hand over the run: ${(err as Error).message}`);
    }
    return pending;
  }

  /** Ends the child: the IPC channel is closed (the child exits on that), then SIGKILL if it does not exit in time. */
  async close(): Promise<void> {
    if (this.exitReason) return;
    this.failPending(`open-loop generator (pid ${this.pid}) closed during a run`);
    if (this.child.connected) this.child.disconnect();
    const timedOut = await Promise.race([this.exited.then(() => false), sleep(CLOSE_WAIT_MS).then(() => true)]);
    if (timedOut) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  private send(message: ToChild): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!this.child.connected) { reject(new Error('the IPC channel is closed')); return; }
      this.child.send(message, (err) => (err ? reject(err) : resolve()));
    });
  }

  private onMessage(m: FromChild): void {
    const p = this.pending;
    if (!p) return;
    if (m.type === 'started') {
      try {
        p.onStart?.(m.startMs);
      } catch (err) {
        p.hookError = err as Error;
      }
    } else if (m.type === 'failed') {
      this.failPending(`open-loop generator (pid ${this.pid}): ${m.message}`);
    } else if (m.type === 'done') {
      this.pending = null;
      if (p.hookError) {
        p.reject(p.hookError);
        return;
      }
      if (m.outcome.length !== p.count) {
        p.reject(new Error(`open-loop generator (pid ${this.pid}) returned ${m.outcome.length} results for ${p.count} orders`));
        return;
      }
      p.resolve(decode(m, p.ratePerS));
    }
  }

  private failPending(message: string): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    p.reject(new Error(`${message}${tail(this.output)}`));
  }
}

/**
 * Resolves with how the child ended once it has exited and its stdout and stderr have closed, so an
 * error quotes all it wrote. ('close' would say the same, but it never comes once this side has
 * closed the IPC channel itself, which close() does.)
 */
function endOf(child: ChildProcess): Promise<string> {
  const closed = (stream: NodeJS.ReadableStream | null) => new Promise<void>((r) => (stream ? stream.once('close', () => r()) : r()));
  const exit = new Promise<string>((r) => child.once('exit', (code, signal) => r(`exited (code ${code}, signal ${signal})`)));
  return Promise.all([exit, closed(child.stdout), closed(child.stderr)]).then(([reason]) => reason);
}

/** Validates a run and turns it into the message that starts it. */
function checkRun(run: OpenLoopRun): ToChild {
  const count = run.orders.length;
  if (count > OPEN_LOOP_ORDERS_MAX) {
    throw new Error(`open-loop run of ${count} orders refused: at most ${OPEN_LOOP_ORDERS_MAX} orders a run (split it, or lower the rate or the duration)`);
  }
  if (!(Number.isFinite(run.ratePerS) && run.ratePerS > 0)) throw new Error(`open-loop rate must be a finite number above 0 orders/s, got ${run.ratePerS}`);
  const timeoutMs = run.timeoutMs ?? 10_000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new Error(`open-loop timeoutMs must be above 0, got ${timeoutMs}`);
  const inFlightMax = run.inFlightMax ?? 1024;
  if (!(Number.isInteger(inFlightMax) && inFlightMax >= 1)) throw new Error(`open-loop inFlightMax must be an integer of at least 1, got ${inFlightMax}`);
  let url: URL;
  try {
    url = new URL(run.ingressUrl);
  } catch {
    throw new Error(`open-loop ingressUrl is not a URL: ${run.ingressUrl}`);
  }
  if (url.protocol !== 'http:') throw new Error(`open-loop ingressUrl must be http://, got ${run.ingressUrl}`);
  let bytes = 0;
  for (const o of run.orders) {
    if (!/^\/[\x21-\x7e]*$/.test(o.path)) throw new Error(`open-loop order path must start with '/' and hold no spaces or non-ASCII characters, got ${JSON.stringify(o.path)}`);
    bytes += o.path.length + o.body.length;
  }
  if (bytes > OPEN_LOOP_ORDER_BYTES_MAX) throw new Error(`open-loop run of ${bytes} bytes of orders refused: at most ${OPEN_LOOP_ORDER_BYTES_MAX}`);
  return { type: 'run', ingressUrl: run.ingressUrl, count, ratePerS: run.ratePerS, timeoutMs, inFlightMax };
}

/** Turns the child's columns (times from startMs) into one epoch-timed record per order. */
function decode(m: Extract<FromChild, { type: 'done' }>, ratePerS: number): OpenLoopResult {
  const intervalMs = 1000 / ratePerS;
  const results: OrderResult[] = Array.from({ length: m.outcome.length }, (_, i) => ({
    i,
    intendedMs: m.startMs + i * intervalMs,
    sentMs: m.startMs + m.sentMs[i],
    endedMs: m.startMs + m.endedMs[i],
    outcome: outcomeOf(m.outcome[i]),
  }));
  return { startMs: m.startMs, results, cpuS: m.cpuS, lateSends: m.lateSends };
}

function outcomeOf(code: number): OrderOutcome {
  if (code === OUTCOME_TIMEOUT) return 'timeout';
  if (code === OUTCOME_CONNECTION) return 'connection';
  if (code === OUTCOME_OVERLOAD) return 'overload';
  return code;
}

function tail(output: RingBuffer): string {
  const lines = output.tailLines(STDERR_LINES);
  return lines ? `\n--- last output of the generator ---\n${lines}` : '';
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
