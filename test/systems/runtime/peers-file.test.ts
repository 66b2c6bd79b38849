// The peers file of peers=reload: read with a reason when it is bad, written atomically, and
// watched: each new valid content is followed once, a bad or half-written one is ignored.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/run.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePeersFile, watchPeersFile, writePeersFile, type PeersFile, type PeersWatcher } from '../../../systems/runtime/peers-file.ts';

const dirs: string[] = [];
const watchers: PeersWatcher[] = [];
afterEach(async () => {
  for (const w of watchers.splice(0)) await w.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'untangle-peers-'));
  dirs.push(d);
  return d;
}
const until = (check: () => boolean): Promise<void> => waitFor(check, 5000, 'the condition');

describe('peers file', () => {
  it('reads a valid file (topology relative to it) and refuses a bad one with the reason', () => {
    const ok = parsePeersFile(JSON.stringify({ generation: 3, topology: 'topology-3.yaml', peers: { B: ['http://127.0.0.1:4001', 'http://127.0.0.1:4002'] } }), '/w/peers.json');
    expect(ok).toEqual({ generation: 3, topology: '/w/topology-3.yaml', peers: { B: ['http://127.0.0.1:4001', 'http://127.0.0.1:4002'] } });
    expect(() => parsePeersFile('{"generation": 1, "topology": "t.yaml", "pe', '/w/peers.json')).toThrow(/peers file \/w\/peers.json: not JSON/);
    expect(() => parsePeersFile('{"generation": 1, "topology": "t.yaml", "peers": {"B": ["ftp://x"]}}', '/w/p.json')).toThrow(/peers\.B\.0/);
    expect(() => parsePeersFile('{"topology": "t.yaml", "peers": {}}', '/w/p.json')).toThrow(/generation/);
  });

  it('follows each new content once, ignores a bad one and keeps going', async () => {
    const dir = scratch();
    const file = join(dir, 'peers.json');
    const content = (generation: number): PeersFile => ({ generation, topology: join(dir, `topology-${generation}.yaml`), peers: { A: ['http://127.0.0.1:4000'] } });
    await writePeersFile(file, content(1));
    const seen: number[] = [];
    const log: string[] = [];
    const w = await watchPeersFile(file, { onChange: async (c) => { seen.push(c.generation); }, logger: (l) => log.push(l), pollMs: 200 });
    watchers.push(w);
    expect(w.initial?.generation).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([]); // the content at start is the baseline, not a change
    await writePeersFile(file, content(2));
    await until(() => seen.length === 1);
    expect(seen).toEqual([2]);
    // A half-written file (as a writer without the atomic rename would leave it): logged, ignored.
    writeFileSync(file, JSON.stringify(content(3)).slice(0, 20));
    await until(() => log.some((l) => /not JSON/.test(l)));
    expect(log.find((l) => /not JSON/.test(l))).toMatch(/keeping the current wiring/);
    await writePeersFile(file, content(3));
    await until(() => seen.length === 2);
    // The same content again is no change.
    await writePeersFile(file, content(3));
    await new Promise((r) => setTimeout(r, 400));
    expect(seen).toEqual([2, 3]);
  });

  it('a change the system cannot follow yet is logged once and offered again until it is followed', async () => {
    const dir = scratch();
    const file = join(dir, 'peers.json');
    const log: string[] = [];
    const seen: number[] = [];
    let failures = 3;
    const w = await watchPeersFile(file, {
      onChange: async (c) => { if (failures-- > 0) throw new Error('RabbitMQ is not reachable'); seen.push(c.generation); },
      logger: (l) => log.push(l), pollMs: 200, retryMs: 100,
    });
    watchers.push(w);
    expect(w.initial).toBeNull();
    await writePeersFile(file, { generation: 1, topology: 't.yaml', peers: {} });
    await until(() => seen.length === 1);
    expect(seen).toEqual([1]);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(/generation 1\): RabbitMQ is not reachable; keeping the current wiring, trying again every 100 ms/);
    await writePeersFile(file, { generation: 2, topology: 't.yaml', peers: {} });
    await until(() => seen.length === 2);
  });
});
