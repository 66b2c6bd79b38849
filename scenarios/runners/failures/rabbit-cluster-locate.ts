/**
 * legacy-ha's one place to look: the RabbitMQ cluster as a whole, as its operator would see it from
 * any node (the management overview). Each sample asks
 *  - the cluster (`rabbitmqctl cluster_status` on the first live node): which nodes it counts as running;
 *  - the run's flow queues (depth and consumers, through the first node that takes an AMQP
 *    connection), as the legacy layout's place does (rabbitQueuesLocator).
 * The place names a node when the cluster did not count it as running in any sample while the
 * component was down (as hub-cluster's place names a broker missing from the live brokers), and
 * every system whose queue grew with 0 consumers (concludeLocation's rule). A killed quorum leader
 * is a node like the others: the place names its node.
 */
import type { RabbitCluster } from '../../../infra/rabbitmq-cluster.ts';
import type { Topology } from '../../../systems/topology/index.ts';
import { concludeLocation, describeError, rabbitQueuesLocator, type Location, type Locator, type LocatorSample } from './locate.ts';

const ITSELF = 'the cluster';
/** One cluster_status call at most: the CLI boots a small Erlang node for it (about 0.4 s here). */
const STATUS_TIMEOUT_MS = 3000;

export function rabbitClusterLocator(cluster: Pick<RabbitCluster, 'amqpUrl' | 'names' | 'running'>, topology: Topology, runId: string): Locator {
  const queues = rabbitQueuesLocator(cluster.amqpUrl, topology, runId);
  /** Per sample: the nodes the cluster did not count as running (null: it did not answer). */
  const down = new WeakMap<LocatorSample, readonly string[] | null>();
  const locator: Locator = {
    place: `the RabbitMQ cluster (its status and the run's queues, through any of ${cluster.names.join(', ')})`,
    owners: queues.owners,
    itself: ITSELF,
    measure: queues.measure,
    async sample() {
      const [s, running] = await Promise.all([
        queues.sample(),
        cluster.running(STATUS_TIMEOUT_MS).catch((err: unknown) => `cluster status: ${describeError(err)}`),
      ]);
      const answered = typeof running !== 'string';
      const sample: LocatorSample = {
        ...s,
        reachable: s.reachable || answered,
        problem: [s.problem, answered ? undefined : running].filter((p) => p !== undefined).join('; ') || undefined,
      };
      down.set(sample, answered ? cluster.names.filter((n) => !running.includes(n)) : null);
      return sample;
    },
    conclude(samples, minGrowth) {
      return concludeRabbitClusterLocation(locator, samples, minGrowth, cluster.names, (s) => down.get(s) ?? null);
    },
  };
  return locator;
}

/** What the cluster named over the samples taken while a component was down (see the file's comment). */
export function concludeRabbitClusterLocation(locator: Locator, samples: readonly LocatorSample[], minGrowth: number,
  nodes: readonly string[], notRunning: (s: LocatorSample) => readonly string[] | null): Location {
  if (samples.length === 0) return { named: [], locatedBy: `${locator.place}: not sampled` };
  const t0 = samples[0].atMs;
  const named = new Set<string>();
  const findings: string[] = [];
  for (const node of nodes) {
    const off = samples.filter((s) => notRunning(s)?.includes(node));
    if (off.length === 0) continue;
    named.add(node);
    findings.push(`${node} not running in the cluster from ${((off[0].atMs - t0) / 1000).toFixed(1)} s (${off.length}/${samples.length} samples) ⇒ ${node}`);
  }
  const silent = samples.filter((s) => notRunning(s) === null).length;
  // Queue depths as the legacy layout's place reads them; that the whole place did not answer is said below instead.
  const depth = concludeLocation(locator, samples.filter((s) => s.reachable && s.values.size > 0), minGrowth);
  const depthNamed = depth.named.filter((n) => n !== ITSELF);
  for (const n of depthNamed) named.add(n);
  const unreachable = samples.filter((s) => !s.reachable).length;
  const parts = [
    findings.length > 0 ? findings.join('; ') : 'every node running throughout',
    ...(silent > 0 ? [`no cluster status in ${silent}/${samples.length} samples`] : []),
    depthNamed.length > 0 ? depth.locatedBy.replace(`${locator.place}: `, '') : `no queue grew (by ${minGrowth}+, never falling) with 0 consumers`,
    ...(unreachable > 0 ? [`no part of it answered in ${unreachable}/${samples.length} samples`] : []),
  ];
  return { named: [...named].sort(), locatedBy: `${locator.place}: ${parts.join('; ')}${named.size === 0 ? ': it named nobody' : ''}` };
}
