// Makes sure no supervised child outlives this process. Each child is the leader of its own process
// group (spawned detached), so signalling -pid reaches it and anything it started.
//
// - On process 'exit' (normal end, process.exit, uncaught exception) every live group gets SIGKILL.
// - On SIGINT/SIGTERM/SIGHUP, when nobody else listens for that signal, the groups get SIGKILL and the
//   signal is re-raised so this process still dies of it. When someone else listens (a CLI doing a
//   graceful shutdown), they own the shutdown and the 'exit' hook reaps whatever is left.
// A parent killed with SIGKILL cannot run any code; its children then survive (Linux has no portable
// "die with parent" for Node). Tests and runners call Supervisor.stopAll() for that reason.

const liveGroups = new Set<number>();
let installed = false;
const HANDLED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Sends `signal` to the process group led by `pid`. False when the group no longer exists. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

function killAllNow(): void {
  for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
  liveGroups.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  killAllNow();
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAllNow);
  for (const s of HANDLED_SIGNALS) process.on(s, onSignal);
}

export function trackGroup(pid: number): void {
  install();
  liveGroups.add(pid);
}

export function untrackGroup(pid: number): void {
  liveGroups.delete(pid);
}

/** Pids of the groups currently tracked (for tests and diagnostics). */
export function trackedGroups(): number[] {
  return [...liveGroups];
}
