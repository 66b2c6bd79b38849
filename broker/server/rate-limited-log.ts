/**
 * A logger that prints at most `linesPerWindow` lines per window and then one summary of what it
 * held back, so a flood of bad frames leaves a readable log instead of gigabytes of it.
 */
export class RateLimitedLog {
  private windowStartMs = 0;
  private linesInWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly sink: (line: string) => void,
    private readonly linesPerWindow = 20,
    private readonly windowMs = 10_000,
  ) {}

  log(line: string): void {
    const now = Date.now();
    if (now - this.windowStartMs >= this.windowMs) {
      if (this.suppressed > 0) this.sink(`(${this.suppressed} similar log lines suppressed in the last ${this.windowMs} ms)`);
      this.windowStartMs = now;
      this.linesInWindow = 0;
      this.suppressed = 0;
    }
    if (this.linesInWindow < this.linesPerWindow) {
      this.linesInWindow++;
      this.sink(line);
    } else {
      this.suppressed++;
    }
  }
}
