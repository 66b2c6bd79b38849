/**
 * hub-cluster's one place to look: the cluster as a whole, as an operator of a Kafka cluster would
 * see it from any broker or controller. Each sample asks
 *  - the controller quorum (its active controller): the leader, its term, the voters it reaches;
 *  - the cluster's metadata (any broker): the live brokers;
 *  - every broker's metrics: consumer lag per group, as the hub's place does (a group's lag is
 *    kept by the broker coordinating it, so the readings of all brokers are merged).
 * The place names a broker when it was missing from the voters the active controller reached or
 * from the live brokers in any sample while the component was down; and every component whose
 * group's lag grew as fast as its topics (concludeLocation's rule). A killed quorum leader is a
 * node like the others: the place names its broker.
 */
import type { KafkaCluster, QuorumStatus, ReplicaStatus } from '../../../infra/kafka-cluster.ts';
import type { Topology } from '../../../systems/topology/index.ts';
import {
  concludeLocation, describeError, groupOwners, groupReadings, SAMPLE_TIMEOUT_MS,
  type Location, type Locator, type LocatorSample, type Members, type Reading,
} from './locate.ts';

const ITSELF = 'the cluster';

/** Resolves with what `p` gives within `ms`, or rejects; a late answer is dropped. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); }),
  ]);
}

/**
 * Per group, of the readings several brokers gave: the one over the most partitions, then the
 * smallest lag (committed offsets only grow, so a former coordinator's stale view lags more).
 */
export function mergeGroupReadings(perBroker: readonly Map<string, Reading>[]): Map<string, Reading> {
  const out = new Map<string, Reading>();
  const width = (r: Reading): number => (r.parts ? r.parts.split(',').length : 0);
  for (const readings of perBroker) {
    for (const [group, r] of readings) {
      const best = out.get(group);
      if (!best || width(r) > width(best) || (width(r) === width(best) && r.value < best.value)) out.set(group, r);
    }
  }
  return out;
}

export function clusterLocator(cluster: KafkaCluster, topology: Topology, runId: string): Locator {
  const owners = groupOwners(topology, runId);
  const nodeName = new Map(cluster.nodes.map((n) => [n.nodeId, n.name]));
  const locator: Locator = {
    place: `the cluster (its controller quorum, its metadata and ${cluster.nodes.length} brokers' metrics)`,
    owners,
    itself: ITSELF,
    measure: 'consumer lag',
    async sample() {
      const atMs = Date.now();
      const [metrics, quorum, replicas] = await Promise.all([
        Promise.all(cluster.nodes.map(async (n) => {
          try {
            const res = await fetch(n.metricsUrl, { signal: AbortSignal.timeout(SAMPLE_TIMEOUT_MS) });
            const text = await res.text();
            return res.status === 200 ? groupReadings(text) : null;
          } catch {
            return null;
          }
        })),
        within<QuorumStatus>(cluster.quorum(), SAMPLE_TIMEOUT_MS).catch((err: unknown) => describeError(err)),
        within<ReplicaStatus>(cluster.replicas(), SAMPLE_TIMEOUT_MS).catch((err: unknown) => describeError(err)),
      ]);
      const answered = metrics.filter((m): m is Map<string, Reading> => m !== null);
      const members: Members = {
        leaderId: typeof quorum === 'string' ? null : quorum.leaderId,
        term: typeof quorum === 'string' ? null : quorum.term,
        reachableVoters: typeof quorum === 'string' ? null : quorum.reachable,
        liveBrokers: typeof replicas === 'string' ? null : replicas.liveBrokers,
      };
      const problems = [typeof quorum === 'string' ? `quorum: ${quorum}` : '', typeof replicas === 'string' ? `metadata: ${replicas}` : '',
        answered.length < metrics.length ? `${metrics.length - answered.length} broker(s) without metrics` : ''].filter((p) => p !== '');
      return {
        atMs,
        reachable: answered.length > 0 || typeof quorum !== 'string' || typeof replicas !== 'string',
        problem: problems.length > 0 ? problems.join('; ') : undefined,
        values: new Map([...mergeGroupReadings(answered)].filter(([g]) => owners.has(g))),
        members,
      };
    },
    conclude(samples, minGrowth) {
      return concludeClusterLocation(locator, samples, minGrowth, nodeName);
    },
  };
  return locator;
}

/** What the cluster named over the samples taken while a component was down (see the file's comment). */
export function concludeClusterLocation(locator: Locator, samples: readonly LocatorSample[], minGrowth: number, nodeName: ReadonlyMap<number, string>): Location {
  if (samples.length === 0) return { named: [], locatedBy: `${locator.place}: not sampled` };
  const t0 = samples[0].atMs;
  const at = (ms: number): string => `${((ms - t0) / 1000).toFixed(1)} s`;
  const named = new Set<string>();
  const findings: string[] = [];
  for (const [id, name] of nodeName) {
    const offQuorum = samples.find((s) => s.members?.reachableVoters && !s.members.reachableVoters.includes(id));
    const offMetadata = samples.find((s) => s.members?.liveBrokers && !s.members.liveBrokers.includes(id));
    if (!offQuorum && !offMetadata) continue;
    named.add(name);
    const how = [
      offQuorum ? `not reached by the active controller from ${at(offQuorum.atMs)}` : '',
      offMetadata ? `not among the live brokers from ${at(offMetadata.atMs)}` : '',
    ].filter((x) => x !== '');
    findings.push(`${name} ${how.join(', ')} ⇒ ${name}`);
  }
  const leaders = samples.filter((s) => s.members?.leaderId !== null && s.members?.leaderId !== undefined).map((s) => s.members!);
  const changes = leaders.filter((m, i) => i === 0 || m.leaderId !== leaders[i - 1].leaderId);
  const quorumText = leaders.length === 0
    ? 'no quorum leader answered'
    : changes.length === 1
      ? `quorum leader ${nodeName.get(changes[0].leaderId!) ?? changes[0].leaderId} (term ${changes[0].term})`
      : `quorum leader ${changes.map((m) => `${nodeName.get(m.leaderId!) ?? m.leaderId} (term ${m.term})`).join(' → ')}`;
  const noQuorum = samples.length - leaders.length;
  // Consumer lag as the hub's place reads it; that the whole place did not answer is said below instead.
  const lag = concludeLocation(locator, samples.filter((s) => s.reachable), minGrowth);
  const lagNamed = lag.named.filter((n) => n !== ITSELF);
  for (const n of lagNamed) named.add(n);
  const unreachable = samples.filter((s) => !s.reachable).length;
  const parts = [
    findings.length > 0 ? findings.join('; ') : 'every broker present throughout',
    `${quorumText}${noQuorum > 0 ? `, none in ${noQuorum}/${samples.length} samples` : ''}`,
    lagNamed.length > 0 ? lag.locatedBy.replace(`${locator.place}: `, '') : 'no group\'s lag grew as fast as its topics',
    ...(unreachable > 0 ? [`no part of it answered in ${unreachable}/${samples.length} samples`] : []),
  ];
  return { named: [...named].sort(), locatedBy: `${locator.place}: ${parts.join('; ')}${named.size === 0 ? ': it named nobody' : ''}` };
}
