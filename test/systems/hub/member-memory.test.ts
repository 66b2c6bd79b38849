// The pieces behind a fast rejoin after kill -9 (systems/hub/member-memory.ts, leave-group.ts):
// the raw LeaveGroup removes a live kafkajs member from its group, answers "not a member" for one
// the group does not know, and gives up in bounded time when no broker answers; the member-id file
// is read back by the next incarnation, and a file of another group or a corrupt one is ignored.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { leaveGroupAs } from '../../../systems/hub/leave-group.ts';
import { MemberMemory, memberFileOf } from '../../../systems/hub/member-memory.ts';
import { startTestBroker, testKafka, waitFor, type TestBroker } from './helpers.ts';

let tb: TestBroker;
let kafka: Kafka;
let dir: string;

beforeAll(async () => {
  tb = await startTestBroker();
  kafka = testKafka(tb.broker.address, 'member-memory-test');
  dir = mkdtempSync(path.join(tmpdir(), 'untangle-member-memory-'));
});

afterAll(async () => {
  await tb?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const leaveOptions = (groupId: string, memberId: string) => ({ brokers: [tb.broker.address], clientId: 'member-memory-test', groupId, memberId, timeoutMs: 5_000 });

describe('leaveGroupAs', () => {
  it('removes a live member of a group, which the group then no longer lists', async () => {
    const topic = `mm-${process.pid}-live`;
    const admin = kafka.admin();
    await admin.connect();
    const consumer = kafka.consumer({ groupId: `${topic}-group`, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      let memberId = '';
      consumer.on(consumer.events.GROUP_JOIN, (e) => { memberId = e.payload.memberId; });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({ eachMessage: async () => undefined });
      await waitFor(() => memberId !== '', 10_000, 'the consumer to join');
      const leftId = memberId;
      expect(await leaveGroupAs(leaveOptions(`${topic}-group`, leftId))).toEqual({ kind: 'left' });
      const [group] = (await admin.describeGroups([`${topic}-group`])).groups;
      expect(group.members.map((m) => m.memberId)).not.toContain(leftId);
    } finally {
      await consumer.disconnect();
      await admin.disconnect();
    }
  });

  it('answers not-a-member for a member or a group the coordinator does not know', async () => {
    expect(await leaveGroupAs(leaveOptions(`mm-${process.pid}-nobody`, 'untangle-system-X-gone'))).toEqual({ kind: 'not-a-member' });
  });

  it('gives up within its timeout when no broker answers', async () => {
    // A port that accepts connections and never answers.
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const startedMs = Date.now();
      const outcome = await leaveGroupAs({ brokers: [`127.0.0.1:${port}`], clientId: 't', groupId: 'g', memberId: 'm', timeoutMs: 300 });
      expect(outcome.kind).toBe('failed');
      expect(Date.now() - startedMs).toBeLessThan(2_000);
    } finally {
      silent.close();
    }
  });
});

describe('MemberMemory', () => {
  const memory = (groupId: string, log: (line: string) => void = () => undefined) =>
    new MemberMemory({ dir, groupId, brokers: [tb.broker.address], clientId: 'member-memory-test', leaveTimeoutMs: 2_000, log });

  it('hands the member id it remembered to the next incarnation, which leaves as it once', async () => {
    const first = memory('g-remember');
    expect(first.memberId).toBeNull();
    first.remember('untangle-system-A-1');
    const next = memory('g-remember');
    expect(next.memberId).toBe('untangle-system-A-1');
    expect(await next.leavePrevious()).toEqual({ kind: 'not-a-member' });
    expect(await next.leavePrevious(), 'only once per process').toBeNull();
  });

  it('never leaves as itself once it has joined', async () => {
    const m = memory('g-self');
    m.remember('untangle-system-A-2');
    expect(await m.leavePrevious()).toBeNull();
  });

  it('ignores a file of another group or a corrupt one', () => {
    const lines: string[] = [];
    writeFileSync(memberFileOf(dir, 'g-other'), JSON.stringify({ groupId: 'g-not-this-one', memberId: 'x' }));
    expect(memory('g-other', (l) => lines.push(l)).memberId).toBeNull();
    writeFileSync(memberFileOf(dir, 'g-corrupt'), '{"groupId": "g-corr');
    expect(memory('g-corrupt', (l) => lines.push(l)).memberId).toBeNull();
    expect(lines).toHaveLength(2);
  });
});
