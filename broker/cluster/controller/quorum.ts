// The controller quorum as configured: "id@host:port,id@host:port,...", the same string on every
// controller and every broker (Kafka's controller.quorum.voters). Membership is static: changing it
// needs every process restarted with the new string (no Raft membership changes yet).
import net from 'node:net';

export interface QuorumVoter {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

/** Bound on voters: Raft quorums beyond a handful only add latency (and 7 already survives 3 failures). */
export const MAX_VOTERS = 7;

const ENTRY = /^(\d{1,10})@(.+):(\d{1,5})$/;

/** Parses `1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194`; IPv6 hosts go in brackets (`1@[::1]:9192`). */
export function parseQuorum(spec: string): QuorumVoter[] {
  const fail = (why: string): never => {
    throw new Error(`invalid controller quorum "${spec}": ${why} (expected id@host:port,... e.g. 1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194)`);
  };
  if (typeof spec !== 'string' || spec.trim() === '') fail('it is empty');
  const parts = spec.split(',').map((p) => p.trim());
  if (parts.length > MAX_VOTERS) fail(`${parts.length} voters, at most ${MAX_VOTERS} are supported`);
  const voters: QuorumVoter[] = [];
  for (const part of parts) {
    const m = ENTRY.exec(part);
    if (!m) fail(`entry "${part}" is not id@host:port`);
    const [, idText, rawHost, portText] = m!;
    const id = Number(idText);
    if (!Number.isSafeInteger(id) || id > 2 ** 31 - 1) fail(`entry "${part}": id ${idText} is out of range 0..${2 ** 31 - 1}`);
    const port = Number(portText);
    if (port < 1 || port > 65535) fail(`entry "${part}": port ${portText} is out of range 1..65535`);
    const bracketed = rawHost.startsWith('[') && rawHost.endsWith(']');
    const host = bracketed ? rawHost.slice(1, -1) : rawHost;
    if (bracketed ? net.isIPv6(host) === false : !/^[A-Za-z0-9.-]{1,253}$/.test(host)) fail(`entry "${part}": "${rawHost}" is not a host name or address (IPv6 goes in brackets)`);
    voters.push({ id, host, port });
  }
  const problem = votersProblem(voters);
  if (problem) fail(problem);
  return voters;
}

/** What is wrong with a voter list (also for lists built in code), or null. */
export function votersProblem(voters: readonly QuorumVoter[]): string | null {
  if (voters.length === 0) return 'no voters';
  if (voters.length > MAX_VOTERS) return `${voters.length} voters, at most ${MAX_VOTERS} are supported`;
  for (const v of voters) {
    if (!Number.isSafeInteger(v.id) || v.id < 0 || v.id > 2 ** 31 - 1) return `voter id ${v.id} is out of range 0..${2 ** 31 - 1}`;
    if (!Number.isSafeInteger(v.port) || v.port < 1 || v.port > 65535) return `voter ${v.id}: port ${v.port} is out of range 1..65535`;
    if (typeof v.host !== 'string' || v.host.length === 0) return `voter ${v.id} has no host`;
  }
  if (new Set(voters.map((v) => v.id)).size !== voters.length) return 'a voter id appears twice';
  if (new Set(voters.map((v) => `${v.host.toLowerCase()}:${v.port}`)).size !== voters.length) return 'two voters share one host:port';
  // An even count tolerates no more failures than the odd count below it, and the Raft core refuses it.
  if (voters.length % 2 === 0) return `${voters.length} voters; the count must be odd (1, 3, 5 or 7)`;
  return null;
}

/** Formats voters back into the quorum string (for logs and error messages). */
export function formatQuorum(voters: readonly QuorumVoter[]): string {
  return voters.map((v) => `${v.id}@${v.host.includes(':') ? `[${v.host}]` : v.host}:${v.port}`).join(',');
}
