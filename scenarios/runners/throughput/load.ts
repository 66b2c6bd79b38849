/**
 * One closed-loop load step on the ingress with autocannon: `connections` keep-alive connections,
 * each with one request in flight, for `durationS`. Every request carries the next ingress event of the
 * run's seeded stream (never one twice), and every order is recorded: when its request was built
 * and sent, and the status it got (null when no answer came: a timeout, a dropped connection, or
 * still in flight when the step ended — its fate is unknown, so it is never counted as accepted).
 */
import autocannon from 'autocannon';
import { echoOf, ingressPath, type IngressFeed, type IngressEvent } from '../../load/ingress-feed.ts';
import type { Topology } from '../../../systems/topology/index.ts';

export interface SentOrder {
  event: IngressEvent;
  /** When autocannon asked for this request (it is written to the socket right after). */
  sentAtMs: number;
  /** HTTP status of the answer; null when none came. */
  status: number | null;
  /** When the answer arrived. */
  answeredAtMs: number | null;
}

export interface LoadStepResult {
  connections: number;
  startedAtMs: number;
  endedAtMs: number;
  durationS: number;
  /** Every request of the step, in the order they were sent. */
  sent: SentOrder[];
  accepted: SentOrder[];
  /** Connection errors and timeouts (autocannon's count). */
  errors: number;
  timeouts: number;
  non2xx: number;
  /** autocannon's latency histogram of the 2xx answers, ms. */
  latencyMs: { p50: number; p99: number; p999: number };
  /** 2xx answers whose body did not echo the order we attributed them to (should stay 0). */
  misattributed: number;
}

export interface LoadStepOptions {
  ingressUrl: string;
  connections: number;
  durationS: number;
  feed: IngressFeed;
  /** The landscape (what a 2xx answer must echo). */
  topology: Topology;
  /** Per-request timeout, s (autocannon's default is 10). */
  timeoutS?: number;
  signal?: AbortSignal;
}

/** What autocannon's per-client request context holds: the order of the request in flight. */
interface Slot {
  current?: SentOrder;
}

export async function runLoadStep(opts: LoadStepOptions): Promise<LoadStepResult> {
  const sent: SentOrder[] = [];
  let misattributed = 0;
  const startedAtMs = Date.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.ingressUrl,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        connections: opts.connections,
        pipelining: 1,
        duration: opts.durationS,
        timeout: opts.timeoutS ?? 10,
        requests: [
          {
            // Called once per request, right before it is written (autocannon keeps one request in
            // flight per connection with pipelining 1, and resets the context before each call).
            setupRequest: (req, context) => {
              const event = opts.feed.next();
              const entry: SentOrder = { event, sentAtMs: Date.now(), status: null, answeredAtMs: null };
              sent.push(entry);
              (context as Slot).current = entry;
              return { ...req, path: ingressPath(event), body: JSON.stringify(event.record) };
            },
            // Called with the same context when that request's answer is complete, before the
            // connection's next setupRequest.
            onResponse: (status, body, context) => {
              const entry = (context as Slot).current;
              if (!entry) return;
              entry.status = status;
              entry.answeredAtMs = Date.now();
              if (status >= 200 && status < 300 && !body.includes(echoOf(opts.topology, entry.event))) misattributed++;
            },
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    const abort = () => instance.stop();
    opts.signal?.addEventListener('abort', abort, { once: true });
    instance.once('done', () => opts.signal?.removeEventListener('abort', abort));
  });
  const endedAtMs = Date.now();
  const accepted = sent.filter((s) => s.status !== null && s.status >= 200 && s.status < 300);
  return {
    connections: opts.connections,
    startedAtMs,
    endedAtMs,
    durationS: (endedAtMs - startedAtMs) / 1000,
    sent,
    accepted,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, p999: result.latency.p99_9 },
    misattributed,
  };
}
