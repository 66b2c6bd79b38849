/**
 * Internal bookkeeping of the systems whose inputs produce no outgoing record: C (inventory)
 * releases stock when a shipment is confirmed, E (CRM) books invoices against its customers.
 * Counters only (a map per SKU at most, bounded by the catalogue), so memory stays bounded however
 * many orders pass; the handlers stay pure when no book is passed.
 */
import type { Invoice, Reservation, Shipment } from './records.ts';

/** Distinct SKUs tracked per book; further SKUs are summed under OTHER_SKU. */
export const BOOK_SKUS_MAX = 1_000;
export const OTHER_SKU = '*';

export class InventoryBook {
  reservations = 0;
  shipmentsConfirmed = 0;
  parcelsShipped = 0;
  readonly unitsReservedBySku = new Map<string, number>();

  onReservation(r: Reservation): void {
    this.reservations++;
    for (const line of r.lines) {
      const key = this.unitsReservedBySku.has(line.sku) || this.unitsReservedBySku.size < BOOK_SKUS_MAX ? line.sku : OTHER_SKU;
      this.unitsReservedBySku.set(key, (this.unitsReservedBySku.get(key) ?? 0) + line.qty);
    }
  }

  onShipment(s: Shipment): void {
    this.shipmentsConfirmed++;
    this.parcelsShipped += s.parcels;
  }

  /** Reservations not yet confirmed as shipped (negative if shipments arrive before reservations are booked). */
  get reservationsOpen(): number {
    return this.reservations - this.shipmentsConfirmed;
  }
}

export class CrmBook {
  customersSeen = 0;
  invoicesBooked = 0;
  invoicedCents = 0;
  taxCents = 0;

  onCustomer(): void {
    this.customersSeen++;
  }

  onInvoice(inv: Invoice): void {
    this.invoicesBooked++;
    this.invoicedCents += inv.amountCents;
    this.taxCents += inv.taxCents;
  }
}

/** The books a running system keeps; pass the ones it owns to `handle`. */
export interface Books {
  inventory?: InventoryBook;
  crm?: CrmBook;
}
