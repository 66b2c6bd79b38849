import { readdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Two lanes, each running its files one at a time, and `npm test` runs the two lanes side by side
// (two vitest processes): the landscape scenarios (whole landscapes of processes under a light
// order load, mostly waiting on kill, restart and settle windows) and everything else (the broker,
// the cluster, the systems, the report). Within a lane no two integration suites fight over the
// machine's two cores; across the lanes a scenario's waiting overlaps the other lane's work, which
// keeps the suite within its time budget. any-landscape.test.ts and throughput-search.test.ts run in
// the parts lane to even the two out. `npx vitest run FILE` runs a file in its lane as usual.
const BALANCE = ['test/scenarios/any-landscape.test.ts', 'test/scenarios/throughput-search.test.ts'];
const partsDirs = readdirSync('test', { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'scenarios')
  .map((d) => `test/${d.name}/**/*.test.ts`);

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
      lane('landscapes', ['test/scenarios/**/*.test.ts'], BALANCE),
      lane('parts', [...partsDirs, 'test/*.test.ts', ...BALANCE]),
    ],
  },
});
