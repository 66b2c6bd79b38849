// The controller's metadata state machine: log records, state + apply, placement, election, snapshots.
export * from './commands.ts';
export * from './state.ts';
export * from './placement.ts';
export * from './election.ts';
export * from './snapshot.ts';
export * from './security.ts';
