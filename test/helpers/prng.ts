/** A seeded PRNG for randomised tests (the model's mulberry32), with an integer helper. */
import { mulberry32 } from '../../systems/model/expressions.ts';

export { mulberry32 };
export type Prng = () => number;

/** An integer in [min, max], inclusive. */
export function intBetween(rng: Prng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}
