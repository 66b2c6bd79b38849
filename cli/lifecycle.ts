/** Keeps a long-running command until SIGTERM or SIGINT, then closes what it runs and exits (0, or 1 if closing failed). */
export function closeOnSignal(close: () => Promise<void>, logger: (line: string) => void): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger(`${signal}: shutting down`);
    close().then(
      () => process.exit(0),
      (err: Error) => {
        logger(`shutdown failed: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
