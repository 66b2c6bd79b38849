/**
 * The business records of the shop: one TypeScript type per data kind. Every record carries
 * `orderId`, the key that keeps one order's messages in order (Kafka message key, AMQP routing key).
 * Money is integer cents; times are epoch milliseconds. Nothing here knows how records travel.
 */

export const DATA_KINDS = [
  'order',
  'payment',
  'reservation',
  'shipment',
  'customer',
  'invoice',
  'insight',
  'notification',
  'risk-score',
] as const;
export type DataKind = (typeof DATA_KINDS)[number];

export function isDataKind(value: unknown): value is DataKind {
  return typeof value === 'string' && (DATA_KINDS as readonly string[]).includes(value);
}

export interface OrderItem {
  sku: string;
  qty: number;
  unitPriceCents: number;
}

export interface Order {
  orderId: string;
  customerId: string;
  createdAtMs: number;
  items: OrderItem[];
  totalCents: number;
  currency: string;
  country: string;
  email: string;
}

export const PAYMENT_STATUSES = ['authorized', 'declined'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export interface Payment {
  orderId: string;
  paymentId: string;
  amountCents: number;
  method: string;
  status: PaymentStatus;
}

export interface ReservationLine {
  sku: string;
  qty: number;
}

export interface Reservation {
  orderId: string;
  reservationId: string;
  warehouse: string;
  lines: ReservationLine[];
}

export interface Shipment {
  orderId: string;
  shipmentId: string;
  reservationId: string;
  carrier: string;
  trackingNo: string;
  parcels: number;
}

export interface CustomerRecord {
  orderId: string;
  customerId: string;
  email: string;
  country: string;
  segment: string;
}

export interface Invoice {
  orderId: string;
  invoiceId: string;
  paymentId: string;
  amountCents: number;
  taxCents: number;
}

export const INSIGHT_SOURCES = ['order', 'reservation', 'customer'] as const;
export type InsightSource = (typeof INSIGHT_SOURCES)[number];

export interface Insight {
  orderId: string;
  source: InsightSource;
  metric: string;
  value: number;
}

export const NOTIFICATION_TRIGGERS = ['order', 'payment', 'shipment'] as const;
export type NotificationTrigger = (typeof NOTIFICATION_TRIGGERS)[number];

export interface Notification {
  orderId: string;
  trigger: NotificationTrigger;
  channel: string;
  template: string;
}

export const RISK_SOURCES = ['order', 'payment'] as const;
export type RiskSource = (typeof RISK_SOURCES)[number];
export const RISK_VERDICTS = ['approve', 'review', 'reject'] as const;
export type RiskVerdict = (typeof RISK_VERDICTS)[number];

export interface RiskScore {
  orderId: string;
  source: RiskSource;
  /** 0..100, higher is riskier. */
  score: number;
  verdict: RiskVerdict;
}

/** The record type of each data kind. */
export interface RecordsByKind {
  order: Order;
  payment: Payment;
  reservation: Reservation;
  shipment: Shipment;
  customer: CustomerRecord;
  invoice: Invoice;
  insight: Insight;
  notification: Notification;
  'risk-score': RiskScore;
}
export type RecordOf<K extends DataKind> = RecordsByKind[K];
export type AnyRecord = RecordsByKind[DataKind];

/** A record together with its kind: what handlers emit and wiring carries. */
export interface KindedRecord<K extends DataKind = DataKind> {
  kind: K;
  record: RecordOf<K>;
}

/**
 * The identity of a record within its kind. One record per order for most kinds; insights,
 * notifications and risk scores exist once per order and source/trigger, so their id says which.
 * For order, payment, reservation, shipment, customer and invoice it is exactly the orderId.
 */
export function recordId(kind: DataKind, record: AnyRecord): string {
  switch (kind) {
    case 'insight':
      return `${record.orderId}/${(record as Insight).source}`;
    case 'notification':
      return `${record.orderId}/${(record as Notification).trigger}`;
    case 'risk-score':
      return `${record.orderId}/${(record as RiskScore).source}`;
    default:
      return record.orderId;
  }
}
