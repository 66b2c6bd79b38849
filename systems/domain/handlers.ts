/**
 * The business logic of systems B–I: pure functions of their input. Every "random" choice is a
 * stable hash of the input (see hash.ts), so the same order gives the same records everywhere.
 */
import { stableHex, stableInt, stablePick } from './hash.ts';
import type {
  CustomerRecord,
  Insight,
  Invoice,
  Notification,
  Order,
  Payment,
  Reservation,
  RiskScore,
  RiskVerdict,
  Shipment,
} from './records.ts';
import type { Books } from './bookkeeping.ts';

/** Share of payments declined, in percent (chosen by hash of the order id). */
export const DECLINE_PERCENT = 5;
export const PAYMENT_METHODS = ['card', 'paypal', 'sepa', 'invoice'] as const;
export const CARRIERS = ['dhl', 'ups', 'dpd', 'gls'] as const;
export const CHANNELS = ['email', 'sms', 'push'] as const;
/** Units packed per parcel. */
export const UNITS_PER_PARCEL = 3;
/** VAT included in every invoice amount, in percent. */
export const VAT_PERCENT = 19;
export const VIP_TOTAL_CENTS = 20_000;

const WAREHOUSE_BY_COUNTRY: Readonly<Record<string, string>> = {
  DE: 'wh-berlin',
  AT: 'wh-berlin',
  CH: 'wh-berlin',
  FR: 'wh-lyon',
  ES: 'wh-lyon',
  IT: 'wh-lyon',
  GB: 'wh-leeds',
  IE: 'wh-leeds',
};
const FALLBACK_WAREHOUSES = ['wh-berlin', 'wh-lyon', 'wh-rotterdam'] as const;

/** B authorize(order): a payment for the order's total; about DECLINE_PERCENT % are declined. */
export function authorize(order: Order): Payment {
  const declined = stableInt(100, 'decline', order.orderId) < DECLINE_PERCENT;
  return {
    orderId: order.orderId,
    paymentId: `pay-${order.orderId}`,
    amountCents: order.totalCents,
    method: stablePick(PAYMENT_METHODS, 'method', order.customerId),
    status: declined ? 'declined' : 'authorized',
  };
}

/** C reserve(order): stock reserved in the warehouse serving the order's country, one line per item. */
export function reserve(order: Order): Reservation {
  return {
    orderId: order.orderId,
    reservationId: `res-${order.orderId}`,
    warehouse: WAREHOUSE_BY_COUNTRY[order.country] ?? stablePick(FALLBACK_WAREHOUSES, 'wh', order.country),
    lines: order.items.map((it) => ({ sku: it.sku, qty: it.qty })),
  };
}

/** C onShipment(shipment): stock bookkeeping only; emits nothing. */
export function onShipment(shipment: Shipment, books?: Books): null {
  books?.inventory?.onShipment(shipment);
  return null;
}

/** D ship(reservation): the shipment of a reservation, with carrier and tracking number. */
export function ship(reservation: Reservation): Shipment {
  const units = reservation.lines.reduce((acc, l) => acc + l.qty, 0);
  const carrier = stablePick(CARRIERS, 'carrier', reservation.orderId);
  return {
    orderId: reservation.orderId,
    shipmentId: `shp-${reservation.orderId}`,
    reservationId: reservation.reservationId,
    carrier,
    trackingNo: `${carrier.toUpperCase()}${stableHex(12, 'tracking', reservation.reservationId)}`,
    parcels: Math.max(1, Math.ceil(units / UNITS_PER_PARCEL)),
  };
}

/** E fromOrder(order): the CRM's view of the customer as of this order. */
export function fromOrder(order: Order): CustomerRecord {
  return {
    orderId: order.orderId,
    customerId: order.customerId,
    email: order.email,
    country: order.country,
    segment: order.totalCents >= VIP_TOTAL_CENTS ? 'vip' : order.items.length > 1 ? 'regular' : 'occasional',
  };
}

/** E onInvoice(invoice): books the invoice against the customer; emits nothing. */
export function onInvoice(invoice: Invoice, books?: Books): null {
  books?.crm?.onInvoice(invoice);
  return null;
}

/** F invoice(payment): an invoice with VAT included for an authorized payment; null when declined. */
export function invoice(payment: Payment): Invoice | null {
  if (payment.status !== 'authorized') return null;
  return {
    orderId: payment.orderId,
    invoiceId: `inv-${payment.orderId}`,
    paymentId: payment.paymentId,
    amountCents: payment.amountCents,
    taxCents: Math.round((payment.amountCents * VAT_PERCENT) / (100 + VAT_PERCENT)),
  };
}

/** G insight(order | reservation | customer): one analytics fact per input. */
export function insightFromOrder(order: Order): Insight {
  return { orderId: order.orderId, source: 'order', metric: 'order-value-cents', value: order.totalCents };
}
export function insightFromReservation(r: Reservation): Insight {
  const units = r.lines.reduce((acc, l) => acc + l.qty, 0);
  return { orderId: r.orderId, source: 'reservation', metric: `units-reserved-${r.warehouse}`, value: units };
}
export function insightFromCustomer(c: CustomerRecord): Insight {
  return { orderId: c.orderId, source: 'customer', metric: `segment-${c.segment}-${c.country}`, value: 1 };
}

/** H notify(order | payment | shipment): the message sent to the customer. The channel is per order. */
export function notifyOrder(order: Order): Notification {
  return notification(order.orderId, 'order', 'order-confirmation');
}
export function notifyPayment(p: Payment): Notification {
  return notification(p.orderId, 'payment', p.status === 'authorized' ? 'payment-received' : 'payment-declined');
}
export function notifyShipment(s: Shipment): Notification {
  return notification(s.orderId, 'shipment', `shipment-dispatched-${s.carrier}`);
}
function notification(orderId: string, trigger: Notification['trigger'], template: string): Notification {
  return { orderId, trigger, channel: stablePick(CHANNELS, 'channel', orderId), template };
}

/** I score(order | payment): a fraud score 0..100 and its verdict. */
export function scoreOrder(order: Order): RiskScore {
  let score = stableInt(40, 'risk', order.orderId);
  if (order.totalCents >= VIP_TOTAL_CENTS) score += 25;
  if (order.items.some((it) => it.qty >= 5)) score += 15;
  if (!(order.country in WAREHOUSE_BY_COUNTRY)) score += 10;
  return riskScore(order.orderId, 'order', score);
}
export function scorePayment(p: Payment): RiskScore {
  let score = stableInt(30, 'risk', p.paymentId);
  if (p.status === 'declined') score += 50;
  if (p.method === 'invoice') score += 10;
  return riskScore(p.orderId, 'payment', score);
}
function riskScore(orderId: string, source: RiskScore['source'], raw: number): RiskScore {
  const score = Math.min(100, raw);
  const verdict: RiskVerdict = score >= 80 ? 'reject' : score >= 50 ? 'review' : 'approve';
  return { orderId, source, score, verdict };
}
