/** System A, the storefront: validates an incoming order. The REST ingress answers 400 with the reason. */
import type { Order } from './records.ts';
import { validateRecord } from './schemas.ts';

/** A malformed order, refused at the door. `reason` names the fields and what is wrong with them. */
export class OrderValidationError extends Error {
  readonly code = 'INVALID_ORDER';
  /** The HTTP status the ingress answers with. */
  readonly httpStatus = 400;
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'OrderValidationError';
  }
}

export type AcceptResult = { ok: true; order: Order } | { ok: false; error: OrderValidationError };

/**
 * A accept(order): the order as the storefront records it (a fresh, validated copy), or a
 * validation error. Never throws for bad input.
 */
export function accept(input: unknown): AcceptResult {
  const v = validateRecord('order', input);
  if (!v.ok) return { ok: false, error: new OrderValidationError(v.reason) };
  return { ok: true, order: v.record };
}
