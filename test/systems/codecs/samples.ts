/** Sample records of every kind, from the oracle run over generated orders, plus awkward hand-made ones. */
import type { DataKind, RecordOf } from '../../../systems/domain/index.ts';
import { DATA_KINDS } from '../../../systems/domain/index.ts';
import { generateOrders } from '../../../systems/orders/index.ts';
import { expectedOutcome } from '../../../systems/oracle/index.ts';

export function samplesByKind(seed = 5, count = 60): { [K in DataKind]: RecordOf<K>[] } {
  const exp = expectedOutcome(generateOrders({ seed, count }));
  const out = {} as Record<DataKind, unknown[]>;
  for (const kind of DATA_KINDS) out[kind] = [...(exp.byKind.get(kind)?.values() ?? [])].map((c) => c.body);
  return out as { [K in DataKind]: RecordOf<K>[] };
}

/** Records whose text needs quoting or escaping in every format. */
export const AWKWARD = {
  insight: [
    { orderId: 'o,1 "quoted"', source: 'order', metric: ` <b>&amp; 'x' ü 😀 , "y" `, value: 0.1 + 0.2 },
    { orderId: 'o-2', source: 'customer', metric: 'big', value: 1e21 },
    { orderId: 'o-3', source: 'reservation', metric: 'neg', value: -12.5e-7 },
  ],
  notification: [{ orderId: 'o&<4>', trigger: 'payment', channel: '"sms"', template: 'a|b:c,d;e' }],
  order: [
    {
      orderId: ' o-5 ',
      customerId: 'c,5',
      createdAtMs: 0,
      items: [{ sku: 'X-1', qty: 1, unitPriceCents: 0 }],
      totalCents: 0,
      currency: 'EUR',
      country: 'DE',
      email: 'a"b@example.com',
    },
  ],
} satisfies Partial<{ [K in DataKind]: RecordOf<K>[] }>;
