import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Node ids below this share the producer id space in a cluster (id = local * this + node id). */
export const PRODUCER_ID_NODE_SLOTS = 1024;

/**
 * Hands out producer ids for InitProducerId, never the same one twice, even across crashes:
 * ids are reserved in blocks, and a block's end is made durable before its first id is used.
 * In a cluster each broker hands out only ids congruent to its node id, so no two brokers ever
 * give out the same id without having to ask the controller for blocks.
 */
export class ProducerIdAllocator {
  private next: number;
  private blockEnd: number;

  constructor(
    private readonly file: string,
    private readonly blockSize = 1000,
    /** Cluster mode: this broker's node id (< PRODUCER_ID_NODE_SLOTS); null on a single node. */
    private readonly nodeSlot: number | null = null,
  ) {
    if (nodeSlot !== null && (!Number.isInteger(nodeSlot) || nodeSlot < 0 || nodeSlot >= PRODUCER_ID_NODE_SLOTS)) {
      throw new RangeError(`node id ${nodeSlot} is outside 0..${PRODUCER_ID_NODE_SLOTS - 1}, the range a cluster's producer ids are split by`);
    }
    mkdirSync(dirname(file), { recursive: true });
    let start = 0;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { nextBlockStart: number };
      if (Number.isSafeInteger(saved.nextBlockStart) && saved.nextBlockStart >= 0) start = saved.nextBlockStart;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    this.next = start;
    this.blockEnd = start;
  }

  allocate(): number {
    if (this.next >= this.blockEnd) this.reserveBlock();
    const local = this.next++;
    return this.nodeSlot === null ? local : local * PRODUCER_ID_NODE_SLOTS + this.nodeSlot;
  }

  private reserveBlock(): void {
    const end = this.next + this.blockSize;
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ nextBlockStart: end }));
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.file);
    this.blockEnd = end;
  }
}
