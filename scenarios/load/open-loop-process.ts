/**
 * The open-loop generator's own process, forked by open-loop.ts with an IPC channel. It takes a
 * run's orders (in chunks), then sends order i at startMs + i * 1000 / ratePerS whatever the
 * ingress does, and hands back, per order, when it was sent, when it ended and how.
 *
 * The timer loop wakes about every millisecond while orders are due and sends every order whose
 * time has come, so a late wake-up (a GC pause, a busy core) sends the backlog at once and each
 * order keeps its original intended time: the generator's own lateness shows in sentMs and in
 * lateSends instead of silently stretching the schedule. An order is never sent early.
 *
 * When the channel closes (the parent called close(), exited or was killed) this process exits,
 * so it never outlives the runner that started it.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  LATE_SEND_MS, OPEN_LOOP_ORDERS_MAX, OUTCOME_CONNECTION, OUTCOME_OVERLOAD, OUTCOME_TIMEOUT,
  type FromChild, type ScheduledOrder, type ToChild,
} from './open-loop.ts';

type RunSpec = Extract<ToChild, { type: 'run' }>;
type Done = Extract<FromChild, { type: 'done' }>;

/** How far ahead of the first order startMs is set, so the parent hears 'started' before the schedule begins. */
const START_LEAD_MS = 20;

if (!process.send) {
  console.error('open-loop-process: must be started by OpenLoopGenerator (it needs an IPC channel)');
  process.exit(2);
}
const toParent = (m: FromChild): void => {
  if (process.connected) process.send!(m);
};
process.on('disconnect', () => process.exit(0));

let orders: ScheduledOrder[] = [];
let running = false;

process.on('message', (m: ToChild) => {
  if (m.type === 'orders') {
    if (running) return toParent({ type: 'failed', message: 'orders arrived while a run was under way' });
    if (orders.length + m.orders.length > OPEN_LOOP_ORDERS_MAX) {
      orders = [];
      return toParent({ type: 'failed', message: `more than ${OPEN_LOOP_ORDERS_MAX} orders for one run` });
    }
    for (const o of m.orders) orders.push(o);
  } else if (m.type === 'run') {
    if (running) return toParent({ type: 'failed', message: 'a run was asked for while another was under way' });
    const taken = orders;
    orders = [];
    if (taken.length !== m.count) return toParent({ type: 'failed', message: `the run announced ${m.count} orders but ${taken.length} arrived` });
    running = true;
    runSchedule(taken, m).then(
      (done) => { running = false; toParent(done); },
      (err: Error) => { running = false; toParent({ type: 'failed', message: err.stack ?? err.message }); },
    );
  }
});
toParent({ type: 'ready', pid: process.pid });

function runSchedule(orders: readonly ScheduledOrder[], spec: RunSpec): Promise<Done> {
  return new Promise<Done>((resolve, reject) => {
    const n = orders.length;
    const intervalMs = 1000 / spec.ratePerS;
    const base = new URL(spec.ingressUrl);
    const hostname = base.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = base.port === '' ? 80 : Number(base.port);
    const prefix = base.pathname.replace(/\/$/, '');
    // As many sockets as orders may be in flight, all kept open between orders: the agent never
    // queues a request (the in-flight bound turns the surplus away first), and no order waits on a
    // TCP handshake a closed-loop client would not have paid either.
    const agent = new http.Agent({ keepAlive: true, maxSockets: spec.inFlightMax, maxFreeSockets: spec.inFlightMax });
    const sentMs = new Float64Array(n);
    const endedMs = new Float64Array(n);
    const outcome = new Int32Array(n);
    let next = 0;
    let inFlight = 0;
    let lateSends = 0;
    let over = false;

    // All times are taken on the monotonic clock and reported from startMs; startMs itself is the
    // wall clock's reading of the same instant, so the parent can line the schedule up with its own samples.
    const startMono = performance.now() + START_LEAD_MS;
    const startMs = Date.now() + (startMono - performance.now());
    const cpuStart = process.cpuUsage();
    toParent({ type: 'started', startMs });

    const finishIfDone = (): void => {
      if (over || next < n || inFlight > 0) return;
      over = true;
      agent.destroy();
      const cpu = process.cpuUsage(cpuStart);
      resolve({ type: 'done', startMs, sentMs, endedMs, outcome, cpuS: (cpu.user + cpu.system) / 1e6, lateSends });
    };

    const fire = (i: number): void => {
      const sent = performance.now() - startMono;
      sentMs[i] = sent;
      if (inFlight >= spec.inFlightMax) {
        endedMs[i] = sent;
        outcome[i] = OUTCOME_OVERLOAD;
        return;
      }
      if (sent - i * intervalMs > LATE_SEND_MS) lateSends++;
      inFlight++;
      let ended = false;
      const end = (code: number): void => {
        if (ended) return;
        ended = true;
        clearTimeout(timeout);
        endedMs[i] = performance.now() - startMono;
        outcome[i] = code;
        inFlight--;
        finishIfDone();
      };
      const body = Buffer.from(orders[i].body, 'utf8');
      const req = http.request({
        agent, hostname, port, method: 'POST', path: prefix + orders[i].path,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      }, (res) => {
        // The answer is read to its end (and dropped): an order has ended when all of it arrived.
        res.on('end', () => end(res.statusCode ?? OUTCOME_CONNECTION));
        res.on('error', () => end(OUTCOME_CONNECTION));
        res.on('close', () => end(OUTCOME_CONNECTION));
        res.resume();
      });
      req.on('error', () => end(OUTCOME_CONNECTION));
      // Armed once the request exists; end() only ever runs from the request's own (later) events.
      const timeout = setTimeout(() => {
        end(OUTCOME_TIMEOUT);
        req.destroy();
      }, spec.timeoutMs);
      req.end(body);
    };

    const tick = (): void => {
      try {
        while (next < n && startMono + next * intervalMs <= performance.now()) fire(next++);
      } catch (err) {
        // A request that cannot even be built (a bad path, say) is a bug in the caller, not an outcome.
        over = true;
        agent.destroy();
        reject(err as Error);
        return;
      }
      if (next < n) {
        // Wake at or just before the next due time; an early wake-up finds nothing due and waits 1 ms more.
        const waitMs = startMono + next * intervalMs - performance.now();
        setTimeout(tick, Math.max(1, Math.floor(waitMs)));
      } else {
        finishIfDone();
      }
    };
    setTimeout(tick, START_LEAD_MS);
  });
}
