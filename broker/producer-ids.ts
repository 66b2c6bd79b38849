import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createHmac, randomBytes } from 'node:crypto';
import { ErrorCode } from './protocol/errors.ts';
import { writeFileAtomic } from './log/storage.ts';

/** Node ids below this share the producer id space in a cluster (base = local * this + node id). */
export const PRODUCER_ID_NODE_SLOTS = 1024;
/**
 * Low bits of every producer id: a MAC of the rest under a key only this broker (or cluster) holds,
 * so any node can tell an id it (or a peer) handed out from a made-up one without keeping a list.
 * 16 bits: a guessed id passes 1 time in 65,536; ids keep 2^27 allocations per node below 2^53.
 */
const TAG_BITS = 16;
const TAG_SPACE = 2 ** TAG_BITS;
/** Allocations per node: the id (base * TAG_SPACE + tag) must stay a safe integer. */
const MAX_LOCAL = Math.floor(Number.MAX_SAFE_INTEGER / TAG_SPACE / PRODUCER_ID_NODE_SLOTS);
/** Kafka bumps to a new producer id instead of past this epoch (Short.MAX_VALUE - 1). */
const MAX_EPOCH = 32766;
/**
 * Ids whose tag was verified, remembered so that Produce does not compute an HMAC per batch (a producer sends
 * thousands of batches under one id). Only ids that passed go in, so made-up ids cannot fill it; oldest out first.
 */
const VERIFIED_CACHE_SIZE = 4096;

export interface InitProducerIdAnswer {
  readonly errorCode: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  /** Why it was refused, for the log. */
  readonly message?: string;
}

/**
 * Hands out producer ids for InitProducerId, never the same one twice, even across crashes:
 * ids are reserved in blocks, and a block's end is made durable before its first id is used.
 * In a cluster each broker hands out only ids congruent to its node id, so no two brokers ever
 * give out the same id without having to ask the controller for blocks.
 *
 * Every id carries a tag (TAG_BITS) computed with a key derived from the cluster secret (in a
 * cluster) or kept next to the block counter (single node), so Produce and InitProducerId can
 * refuse ids nobody here handed out: made-up ids can neither claim another producer's sequence
 * state nor fill the per-partition producer tables and evict real producers from them.
 */
export class ProducerIdAllocator {
  private next: number;
  private blockEnd: number;
  private readonly key: Buffer;
  private readonly slot: number;
  private readonly verified = new Set<number>();

  constructor(
    private readonly file: string,
    private readonly blockSize = 1000,
    /** Cluster mode: this broker's node id (< PRODUCER_ID_NODE_SLOTS); null on a single node. */
    nodeSlot: number | null = null,
    /** Cluster mode: the cluster secret, so every broker accepts the ids the others hand out. */
    clusterSecret: Buffer | null = null,
  ) {
    if (nodeSlot !== null && (!Number.isInteger(nodeSlot) || nodeSlot < 0 || nodeSlot >= PRODUCER_ID_NODE_SLOTS)) {
      throw new RangeError(`node id ${nodeSlot} is outside 0..${PRODUCER_ID_NODE_SLOTS - 1}, the range a cluster's producer ids are split by`);
    }
    this.slot = nodeSlot ?? 0;
    mkdirSync(dirname(file), { recursive: true });
    let start = 0;
    let savedKey: Buffer | null = null;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { nextBlockStart: number; key?: string };
      if (Number.isSafeInteger(saved.nextBlockStart) && saved.nextBlockStart >= 0) start = saved.nextBlockStart;
      if (typeof saved.key === 'string' && /^[0-9a-f]{64}$/.test(saved.key)) savedKey = Buffer.from(saved.key, 'hex');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    this.next = start;
    this.blockEnd = start;
    if (clusterSecret) {
      this.key = createHmac('sha256', clusterSecret).update('untangle-producer-ids-v1').digest();
    } else {
      this.key = savedKey ?? randomBytes(32);
      if (!savedKey) this.save(start);
    }
  }

  allocate(): number {
    if (this.next >= this.blockEnd) this.reserveBlock();
    if (this.next >= MAX_LOCAL) throw new Error(`producer ids of node ${this.slot} are exhausted (${MAX_LOCAL} handed out)`);
    const base = this.next++ * PRODUCER_ID_NODE_SLOTS + this.slot;
    return base * TAG_SPACE + this.tag(base);
  }

  /** Whether `producerId` is one this broker, or another broker of its cluster, handed out. */
  isIssued(producerId: number): boolean {
    if (this.verified.has(producerId)) return true;
    if (!Number.isSafeInteger(producerId) || producerId < 0) return false;
    const base = Math.floor(producerId / TAG_SPACE);
    if (producerId % TAG_SPACE !== this.tag(base)) return false;
    // Our own slot: also below what we have handed out so far.
    if (base % PRODUCER_ID_NODE_SLOTS === this.slot && Math.floor(base / PRODUCER_ID_NODE_SLOTS) >= this.next) return false;
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.values().next().value!);
    this.verified.add(producerId);
    return true;
  }

  /**
   * InitProducerId for an idempotent producer (no transactional id), as Kafka answers it: a fresh id at epoch 0,
   * whatever id and epoch the request names (a producer recovering from an error, KIP-360, names its own; some
   * clients send 0/0 for a first request), as long as it names both or neither (INVALID_REQUEST otherwise). Never the
   * named id at the next epoch: so InitProducerId can never fence the producer that owns an id, and a made-up id
   * gains nothing (Produce refuses ids this cluster did not hand out).
   */
  init(producerId: number, producerEpoch: number): InitProducerIdAnswer {
    const none = producerId === -1 && producerEpoch === -1;
    const both = producerId >= 0 && producerEpoch >= 0 && producerEpoch <= MAX_EPOCH + 1;
    if (!none && !both) return { errorCode: ErrorCode.INVALID_REQUEST, producerId: -1, producerEpoch: -1, message: `producer id ${producerId} with epoch ${producerEpoch}: give both or neither` };
    return { errorCode: ErrorCode.NONE, producerId: this.allocate(), producerEpoch: 0 };
  }

  private tag(base: number): number {
    return createHmac('sha256', this.key).update(String(base)).digest().readUInt16BE(0) % TAG_SPACE;
  }

  private reserveBlock(): void {
    const end = this.next + this.blockSize;
    this.save(end);
    this.blockEnd = end;
  }

  private save(nextBlockStart: number): void {
    writeFileAtomic(this.file, JSON.stringify({ nextBlockStart, key: this.key.toString('hex') }), { mode: 0o600 });
  }
}
