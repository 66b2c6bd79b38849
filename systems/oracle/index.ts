/** The oracle: what a run must produce, and a check of what it did produce. */
export * from './expected.ts';
export * from './verify.ts';
