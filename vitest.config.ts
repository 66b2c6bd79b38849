import { defineConfig } from 'vitest/config';

// Two lanes that run side by side, each one file at a time: the landscape scenarios (test/scenarios:
// whole landscapes of processes under a light order load, mostly waiting on kill, restart and
// settle windows) and everything else (the broker, the cluster, the systems, the report). Within a
// lane no two integration suites fight over the machine's two cores; across the lanes a scenario's
// waiting overlaps the other lane's work, which keeps the whole suite within its time budget.
const lane = (name: string, include: string[], exclude: string[] = []) => ({
  extends: true as const,
  test: { name, include, exclude, fileParallelism: false },
});

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    projects: [
      lane('landscapes', ['test/scenarios/**/*.test.ts']),
      lane('parts', ['test/**/*.test.ts'], ['test/scenarios/**']),
    ],
  },
});
