/** The seeded order generator and malformed examples. */
export * from './generate.ts';
export * from './malformed.ts';
export { CATALOGUE, COUNTRIES } from './catalogue.ts';
export { mulberry32, intBetween, type Prng } from './prng.ts';
