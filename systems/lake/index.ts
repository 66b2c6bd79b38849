/** The data lake folder: writers for both layouts, the quarantine, and reading it all back. */
export * from './files.ts';
export * from './legacy-writer.ts';
export * from './hub-writer.ts';
export * from './quarantine.ts';
export * from './canonical.ts';
export * from './reader.ts';
export * from './inspect.ts';
