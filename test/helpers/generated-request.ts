// One request encoded by the generated codecs, sent over a fresh raw socket, and its decoded response: for requests
// kafkajs cannot make (or makes only inside a group) and tests that want the broker's exact answer.
import { connect, type Socket } from 'node:net';
import { decodeResponseFrame, encodeRequest } from '../../broker/protocol/frame.ts';
import type { OffsetCommitRequest, OffsetCommitResponse } from '../../broker/protocol/generated/index.ts';

export interface BrokerAddress {
  host: string;
  port: number;
}

/** Connects, sends one request, reads one response frame, decodes it as `apiKey` v`version` and closes. */
export async function requestOnce<T>(to: BrokerAddress, apiKey: number, version: number, body: object, clientId = 'test'): Promise<T> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(to.port, to.host, () => resolve(s));
    s.once('error', reject);
  });
  try {
    const frame = await new Promise<Buffer>((resolve, reject) => {
      let buffered = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        buffered = Buffer.concat([buffered, d]);
        if (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) resolve(buffered.subarray(0, 4 + buffered.readInt32BE(0)));
      });
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('the broker closed the connection')));
      socket.write(encodeRequest(apiKey, version, 1, clientId, body));
    });
    return decodeResponseFrame<T>(apiKey, version, frame).body;
  } finally {
    socket.destroy();
  }
}

/**
 * OffsetCommit v5 outside any group generation (as an admin tool commits) of `[partition, offset]` pairs of one topic;
 * returns the error code of each partition, in the response's order.
 */
export async function commitOffsetsOutsideGroup(to: BrokerAddress, groupId: string, topic: string, offsets: [number, number][], clientId = 'test'): Promise<number[]> {
  const body: OffsetCommitRequest = {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    topics: [{ name: topic, partitions: offsets.map(([partitionIndex, committedOffset]) => ({ partitionIndex, committedOffset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null })) }],
  };
  const res = await requestOnce<OffsetCommitResponse>(to, 8, 5, body, clientId);
  return res.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
}
