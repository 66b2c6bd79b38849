/**
 * Validators (zod) for every data kind, so wiring code can reject bad input with a reason: a
 * REST body answered with 400, a poison AMQP message dead-lettered, a corrupt batch line
 * quarantined. Objects are strict (an unknown field is an error), strings are non-empty, bounded
 * and free of control characters, so every valid record survives every codec unchanged.
 */
import { z } from 'zod';
import {
  INSIGHT_SOURCES,
  NOTIFICATION_TRIGGERS,
  PAYMENT_STATUSES,
  RISK_SOURCES,
  RISK_VERDICTS,
  type DataKind,
  type RecordOf,
} from './records.ts';

export const TEXT_CHARS_MAX = 200;
export const ORDER_ITEMS_MAX = 50;
export const ITEM_QTY_MAX = 1_000;
export const UNIT_PRICE_CENTS_MAX = 10_000_000;

const text = z
  .string()
  .min(1, 'must not be empty')
  .max(TEXT_CHARS_MAX, `must be at most ${TEXT_CHARS_MAX} characters`)
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');
/** SKUs never contain ':' or '|', the separators of the CSV flattening of nested lines. */
const sku = z.string().regex(/^[A-Z0-9][A-Z0-9-]{0,39}$/, 'must be an upper-case SKU like TSHIRT-M');
const cents = z.number().int('must be an integer').nonnegative('must not be negative').max(Number.MAX_SAFE_INTEGER);
const qty = z.number().int('must be an integer').positive('must be positive').max(ITEM_QTY_MAX);

const orderItem = z.strictObject({
  sku,
  qty,
  unitPriceCents: cents.max(UNIT_PRICE_CENTS_MAX),
});

export const orderSchema = z
  .strictObject({
    orderId: text,
    customerId: text,
    createdAtMs: z.number().int('must be an integer').nonnegative().max(8_640_000_000_000_000),
    items: z.array(orderItem).min(1, 'must have at least one item').max(ORDER_ITEMS_MAX),
    totalCents: cents,
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be a 3-letter ISO currency code'),
    country: z.string().regex(/^[A-Z]{2}$/, 'must be a 2-letter ISO country code'),
    email: text.regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'must be an e-mail address'),
  })
  .superRefine((o, ctx) => {
    const sum = o.items.reduce((acc, it) => acc + it.qty * it.unitPriceCents, 0);
    if (sum !== o.totalCents) {
      ctx.addIssue({ code: 'custom', path: ['totalCents'], message: `must equal the sum of the items (${sum})` });
    }
  });

export const paymentSchema = z.strictObject({
  orderId: text,
  paymentId: text,
  amountCents: cents,
  method: text,
  status: z.enum(PAYMENT_STATUSES),
});

export const reservationSchema = z.strictObject({
  orderId: text,
  reservationId: text,
  warehouse: text,
  lines: z.array(z.strictObject({ sku, qty })).min(1, 'must have at least one line').max(ORDER_ITEMS_MAX),
});

export const shipmentSchema = z.strictObject({
  orderId: text,
  shipmentId: text,
  reservationId: text,
  carrier: text,
  trackingNo: text,
  parcels: z.number().int().positive().max(ORDER_ITEMS_MAX * ITEM_QTY_MAX),
});

export const customerSchema = z.strictObject({
  orderId: text,
  customerId: text,
  email: text,
  country: z.string().regex(/^[A-Z]{2}$/, 'must be a 2-letter ISO country code'),
  segment: text,
});

export const invoiceSchema = z.strictObject({
  orderId: text,
  invoiceId: text,
  paymentId: text,
  amountCents: cents,
  taxCents: cents,
});

export const insightSchema = z.strictObject({
  orderId: text,
  source: z.enum(INSIGHT_SOURCES),
  metric: text,
  value: z.number(),
});

export const notificationSchema = z.strictObject({
  orderId: text,
  trigger: z.enum(NOTIFICATION_TRIGGERS),
  channel: text,
  template: text,
});

export const riskScoreSchema = z.strictObject({
  orderId: text,
  source: z.enum(RISK_SOURCES),
  score: z.number().int().min(0).max(100),
  verdict: z.enum(RISK_VERDICTS),
});

export const RECORD_SCHEMAS: { readonly [K in DataKind]: z.ZodType<RecordOf<K>> } = {
  order: orderSchema,
  payment: paymentSchema,
  reservation: reservationSchema,
  shipment: shipmentSchema,
  customer: customerSchema,
  invoice: invoiceSchema,
  insight: insightSchema,
  notification: notificationSchema,
  'risk-score': riskScoreSchema,
};

export type Validation<T> = { ok: true; record: T } | { ok: false; reason: string };

/** Checks `value` against the schema of `kind`; on failure says which fields are wrong and why. */
export function validateRecord<K extends DataKind>(kind: K, value: unknown): Validation<RecordOf<K>> {
  const schema = RECORD_SCHEMAS[kind] as z.ZodType<RecordOf<K>>;
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, record: result.data };
  return { ok: false, reason: formatIssues(kind, result.error.issues) };
}

const REASON_ISSUES_MAX = 5;

function formatIssues(kind: DataKind, issues: readonly z.core.$ZodIssue[]): string {
  const parts = issues.slice(0, REASON_ISSUES_MAX).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(record)';
    return `${where}: ${issue.message}`;
  });
  const more = issues.length > REASON_ISSUES_MAX ? ` (+${issues.length - REASON_ISSUES_MAX} more)` : '';
  return `invalid ${kind}: ${parts.join('; ')}${more}`;
}
