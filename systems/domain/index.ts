/** The wiring-independent business core of the shop: records, validators, handlers A–I. */
export * from './records.ts';
export * from './schemas.ts';
export { stableHash, stableInt, stablePick, stableHex, burnCpu } from './hash.ts';
export { accept, OrderValidationError, type AcceptResult } from './storefront.ts';
export * from './handlers.ts';
export * from './bookkeeping.ts';
export * from './registry.ts';
