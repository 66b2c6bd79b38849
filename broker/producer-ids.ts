import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Hands out producer ids for InitProducerId, never the same one twice, even across crashes:
 * ids are reserved in blocks, and a block's end is made durable before its first id is used.
 */
export class ProducerIdAllocator {
  private next: number;
  private blockEnd: number;

  constructor(
    private readonly file: string,
    private readonly blockSize = 1000,
  ) {
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
    return this.next++;
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
