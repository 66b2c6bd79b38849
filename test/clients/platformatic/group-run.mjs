// Run by a Node 22.22+ (what @platformatic/kafka needs) from test/clients/platformatic.test.ts, against the broker
// (or cluster) whose bootstrap list is argv[2]: admin create, produce, a consumer group of three that shares the
// partitions with manual commits, close, produce more, a new group generation that resumes from the committed
// offsets, admin delete. Prints one JSON line with what it saw; the test judges it.
import { Admin, Consumer, Producer, ProduceAcks, stringDeserializers, stringSerializers } from '@platformatic/kafka';

const [bootstrapArg, topic, replicasArg] = process.argv.slice(2);
const bootstrapBrokers = bootstrapArg.split(',');
const replicas = Number(replicasArg);
const PARTITIONS = 3;
const FIRST = 300;
const SECOND = 150;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, cond, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function produce(from, count) {
  const producer = new Producer({ clientId: 'pk-producer', bootstrapBrokers, serializers: stringSerializers, acks: ProduceAcks.ALL, idempotent: true });
  for (let i = from; i < from + count; i += 50) {
    const messages = [];
    for (let j = i; j < Math.min(i + 50, from + count); j++) messages.push({ topic, key: `k${j}`, value: `v${j}`, partition: j % PARTITIONS });
    await producer.send({ messages });
  }
  await producer.close();
}

/** Three members of `groupId`; once all hold disjoint assignments covering every partition, `afterAssigned` runs. */
async function consumeInGroup(groupId, expected, afterAssigned) {
  const deliveries = new Map();
  const members = [];
  for (const id of ['m1', 'm2', 'm3']) {
    const consumer = new Consumer({ groupId, clientId: `pk-${id}`, bootstrapBrokers, deserializers: stringDeserializers, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTime: 200 });
    const stream = await consumer.consume({ topics: [topic], autocommit: false, mode: 'committed', fallbackMode: 'earliest' });
    stream.on('data', (m) => {
      const key = `${m.partition}:${m.offset}`;
      deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
      m.commit();
    });
    members.push({ consumer, stream });
  }
  const owned = () => members.map((m) => (m.consumer.assignments ?? []).flatMap((a) => (a.topic === topic ? a.partitions : [])));
  await until('three members each holding a share of the partitions', () => {
    const all = owned().flat().sort();
    return owned().every((p) => p.length > 0) && all.length === PARTITIONS && new Set(all).size === PARTITIONS;
  });
  const shares = owned();
  await afterAssigned();
  await until(`${expected} records`, () => deliveries.size >= expected);
  await sleep(1000); // room for a duplicate to show
  for (const m of members) {
    await m.stream.close();
    await m.consumer.close();
  }
  const duplicates = [...deliveries].filter(([, n]) => n > 1).map(([k, n]) => `${k}x${n}`);
  return { shares, distinct: deliveries.size, duplicates, keys: [...deliveries.keys()] };
}

const admin = new Admin({ clientId: 'pk-admin', bootstrapBrokers });
await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas });
const groupId = `pk-group-${topic}`;
const first = await consumeInGroup(groupId, FIRST, () => produce(0, FIRST));
const second = await consumeInGroup(groupId, SECOND, () => produce(FIRST, SECOND));
// Every record of the second generation is past what the first committed: offsets FIRST/PARTITIONS and up.
const resumedBelowCommitted = second.keys.filter((k) => Number(k.split(':')[1]) < FIRST / PARTITIONS).length;
await admin.deleteTopics({ topics: [topic] });
const deleted = !(await admin.listTopics()).includes(topic);
await admin.close();
console.log(JSON.stringify({
  node: process.version,
  first: { shares: first.shares, distinct: first.distinct, duplicates: first.duplicates },
  second: { shares: second.shares, distinct: second.distinct, duplicates: second.duplicates, resumedBelowCommitted },
  deleted,
}));
