// A byte-bounded tail buffer for a child's stdout/stderr, and a line splitter with a bounded partial line.
import { StringDecoder } from 'node:string_decoder';

/** Keeps the last `bytesMax` bytes written to it. */
export class RingBuffer {
  private chunks: Buffer[] = [];
  private bytes = 0;
  /** Bytes ever written, including those since dropped. */
  totalBytes = 0;

  constructor(readonly bytesMax: number) {
    if (!Number.isInteger(bytesMax) || bytesMax < 1) throw new Error(`RingBuffer bytesMax must be a positive integer, got ${bytesMax}`);
  }

  write(chunk: Buffer): void {
    this.totalBytes += chunk.length;
    if (chunk.length >= this.bytesMax) {
      this.chunks = [Buffer.from(chunk.subarray(chunk.length - this.bytesMax))];
      this.bytes = this.bytesMax;
      return;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > this.bytesMax) {
      const head = this.chunks[0];
      const excess = this.bytes - this.bytesMax;
      if (head.length <= excess) {
        this.chunks.shift();
        this.bytes -= head.length;
      } else {
        this.chunks[0] = head.subarray(excess);
        this.bytes -= excess;
      }
    }
  }

  text(): string {
    return Buffer.concat(this.chunks, this.bytes).toString('utf8');
  }

  /** The last `count` lines (a trailing partial line counts as one). */
  tailLines(count: number): string {
    const lines = this.text().split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-count).join('\n');
  }

  clear(): void {
    this.chunks = [];
    this.bytes = 0;
  }
}

/** Splits a byte stream into lines; a partial line longer than `lineBytesMax` is cut and emitted as is. */
export class LineSplitter {
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly onLine: (line: string) => void, private readonly lineBytesMax = 64 * 1024) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.onLine(line.replace(/\r$/, ''));
    if (this.partial.length > this.lineBytesMax) {
      const cut = this.partial;
      this.partial = '';
      this.onLine(cut);
    }
  }

  flush(): void {
    this.partial += this.decoder.end();
    if (this.partial !== '') {
      const rest = this.partial;
      this.partial = '';
      this.onLine(rest);
    }
  }
}
