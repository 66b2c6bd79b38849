// Controller pieces without sockets: the quorum string, framing, Raft message checks, proposal tracking.
import { describe, expect, it } from 'vitest';
import { parseQuorum, formatQuorum } from '../../broker/cluster/controller/quorum.ts';
import { encodeFrame, FrameDecoder, FrameError } from '../../broker/cluster/controller/framing.ts';
import { decodeRaftMessage } from '../../broker/cluster/controller/raft-wire.ts';
import { ProposalTracker, SerialQueue } from '../../broker/cluster/controller/proposals.ts';
import { ControllerError } from '../../broker/cluster/controller/rpc.ts';
import { emptyMetadataState } from '../../broker/cluster/metadata/index.ts';

describe('parseQuorum', () => {
  it('parses id@host:port lists', () => {
    expect(parseQuorum('1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194')).toEqual([
      { id: 1, host: '127.0.0.1', port: 9192 },
      { id: 2, host: '127.0.0.1', port: 9193 },
      { id: 3, host: '127.0.0.1', port: 9194 },
    ]);
    expect(parseQuorum(' 7@ctl-a.example:1 ')).toEqual([{ id: 7, host: 'ctl-a.example', port: 1 }]);
    expect(parseQuorum('1@[::1]:9192')).toEqual([{ id: 1, host: '::1', port: 9192 }]);
    expect(formatQuorum(parseQuorum('1@[::1]:9192,2@h:2,3@h:3'))).toBe('1@[::1]:9192,2@h:2,3@h:3');
  });

  it.each([
    ['', /empty/],
    ['1@a:1,2@b:2', /count must be odd/],
    ['1@a:1,1@b:2,3@c:3', /voter id appears twice/],
    ['1@a:1,2@A:1,3@c:3', /share one host:port/],
    ['1@a:0', /port 0 is out of range/],
    ['1@a:70000', /port 70000 is out of range/],
    ['x@a:1', /not id@host:port/],
    ['1@a', /not id@host:port/],
    ['1@a b:1', /not a host name/],
    ['1@a:1,2@b:2,3@c:3,4@d:4,5@e:5,6@f:6,7@g:7,8@h:8,9@i:9', /at most 7/],
  ])('refuses %j', (spec, why) => {
    expect(() => parseQuorum(spec)).toThrow(why);
  });
});

describe('framing', () => {
  it('splits a stream cut at every byte into frames', () => {
    const values = [{ a: 1 }, 'x'.repeat(300), [1, 2, 3], { s: 'äöü €' }];
    const bytes = Buffer.concat(values.map((v) => encodeFrame(v, 1024)));
    for (let cut = 1; cut < bytes.length; cut++) {
      const d = new FrameDecoder(1024);
      const frames = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      expect(frames.map((f) => JSON.parse(f.toString('utf8')))).toEqual(values);
    }
  });

  it('refuses a length over the limit before buffering the frame, and an empty frame', () => {
    const big = Buffer.alloc(4);
    big.writeUInt32BE(1025);
    expect(() => new FrameDecoder(1024).push(big)).toThrow(FrameError);
    expect(() => new FrameDecoder(1024).push(Buffer.alloc(4))).toThrow(/outside 1\.\.1024/);
    expect(() => encodeFrame('x'.repeat(2000), 1024)).toThrow(/exceeds the limit/);
  });
});

describe('decodeRaftMessage', () => {
  const ok = { type: 'AppendEntries', from: 2, to: 1, term: 3, prevLogIndex: 4, prevLogTerm: 2, leaderCommit: 4 };
  const register = { type: 'RegisterBroker', brokerId: 1, host: 'h', port: 1, incarnationId: 'i', epoch: 5 };

  it('accepts valid messages and decodes their commands', () => {
    const m = decodeRaftMessage({ ...ok, entries: [{ index: 5, term: 3, kind: 'noop' }, { index: 6, term: 3, kind: 'command', command: register }] }, 2, 1);
    expect(m.type).toBe('AppendEntries');
    expect(decodeRaftMessage({ type: 'RequestVote', from: 2, to: 1, term: 1, lastLogIndex: 0, lastLogTerm: 0 }, 2, 1).type).toBe('RequestVote');
  });

  it.each([
    [{ ...ok, entries: [{ index: 6, term: 3, kind: 'noop' }] }, 2, /expected 5/],
    [{ ...ok, entries: [{ index: 5, term: 4, kind: 'noop' }] }, 2, /out of order/],
    [{ ...ok, entries: [{ index: 5, term: 3, kind: 'command', command: { ...register, port: 0 } }] }, 2, /invalid metadata record/],
    [{ ...ok, entries: [] }, 3, /claims to be from 2/],
    [{ ...ok, to: 9, entries: [] }, 2, /for controller 9/],
    [{ ...ok, entries: [], extra: 1 }, 2, /invalid raft message/],
    [{ type: 'Gossip', from: 2, to: 1, term: 1 }, 2, /invalid raft message/],
    [{ type: 'InstallSnapshot', from: 2, to: 1, term: 1, lastIncludedIndex: 3, lastIncludedTerm: 1, data: '{}' }, 2, /InstallSnapshot from 2/],
  ])('refuses bad message %#', (value, from, why) => {
    expect(() => decodeRaftMessage(value, from as number, 1)).toThrow(why);
  });
});

describe('ProposalTracker', () => {
  const state = emptyMetadataState();
  it('resolves on its own term, fails an entry overwritten by another term, and times out', async () => {
    const t = new ProposalTracker();
    const a = t.wait(5, 2, 10_000, () => new Error('timeout'));
    const b = t.wait(6, 2, 10_000, () => new Error('timeout'));
    const c = t.wait(7, 2, 20, () => new ControllerError('NO_QUORUM', 'no majority'));
    t.committed({ index: 5, term: 2, kind: 'noop' }, { ok: true, state });
    t.committed({ index: 6, term: 3, kind: 'noop' }, null);
    await expect(a).resolves.toEqual({ ok: true, state });
    await expect(b).rejects.toMatchObject({ code: 'NOT_CONTROLLER', message: expect.stringMatching(/replaced by one of term 3/) });
    await expect(c).rejects.toMatchObject({ code: 'NO_QUORUM' });
    expect(t.size).toBe(0);
  });
});

describe('SerialQueue', () => {
  it('runs one at a time, bounds its length and skips work whose deadline passed', async () => {
    const q = new SerialQueue(2);
    const order: string[] = [];
    let release!: () => void;
    const first = q.run(10_000, () => new Promise<void>((r) => (release = () => (order.push('first'), r()))), () => new Error('t'));
    const second = q.run(30, async () => void order.push('second'), () => new ControllerError('NO_QUORUM', 'late'));
    await expect(q.run(10_000, async () => undefined, () => new Error('t'))).rejects.toMatchObject({ code: 'BUSY' });
    await expect(second).rejects.toMatchObject({ code: 'NO_QUORUM' });
    release();
    await first;
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual(['first']);
  });
});
