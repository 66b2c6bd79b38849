/** The shop's fixed catalogue and the building blocks of its customers. */
export interface CatalogueItem {
  readonly sku: string;
  readonly unitPriceCents: number;
}

export const CATALOGUE: readonly CatalogueItem[] = [
  { sku: 'TSHIRT-S', unitPriceCents: 1_999 },
  { sku: 'TSHIRT-M', unitPriceCents: 1_999 },
  { sku: 'TSHIRT-L', unitPriceCents: 2_199 },
  { sku: 'HOODIE-M', unitPriceCents: 4_999 },
  { sku: 'HOODIE-L', unitPriceCents: 5_299 },
  { sku: 'JEANS-32', unitPriceCents: 7_950 },
  { sku: 'JEANS-34', unitPriceCents: 7_950 },
  { sku: 'SNEAKER-42', unitPriceCents: 8_900 },
  { sku: 'SNEAKER-44', unitPriceCents: 8_900 },
  { sku: 'CAP-1', unitPriceCents: 1_499 },
  { sku: 'SOCKS-3PK', unitPriceCents: 999 },
  { sku: 'JACKET-M', unitPriceCents: 14_900 },
  { sku: 'JACKET-L', unitPriceCents: 15_900 },
  { sku: 'BAG-TOTE', unitPriceCents: 2_490 },
  { sku: 'SCARF-WOOL', unitPriceCents: 3_490 },
  { sku: 'GIFTCARD-50', unitPriceCents: 5_000 },
];

/** Countries with their weight (share of customers) and currency. */
export const COUNTRIES: readonly { readonly code: string; readonly weight: number; readonly currency: string }[] = [
  { code: 'DE', weight: 35, currency: 'EUR' },
  { code: 'FR', weight: 15, currency: 'EUR' },
  { code: 'GB', weight: 12, currency: 'GBP' },
  { code: 'AT', weight: 8, currency: 'EUR' },
  { code: 'ES', weight: 8, currency: 'EUR' },
  { code: 'IT', weight: 7, currency: 'EUR' },
  { code: 'CH', weight: 5, currency: 'CHF' },
  { code: 'NL', weight: 5, currency: 'EUR' },
  { code: 'PL', weight: 3, currency: 'PLN' },
  { code: 'US', weight: 2, currency: 'USD' },
];

export const FIRST_NAMES = ['anna', 'ben', 'clara', 'david', 'elif', 'felix', 'greta', 'hugo', 'ines', 'jonas', 'kim', 'lea', 'mia', 'noah', 'omar', 'paula'];
export const LAST_NAMES = ['schmidt', 'martin', 'smith', 'garcia', 'rossi', 'muller', 'dubois', 'jones', 'nowak', 'weber', 'moreau', 'brown'];
export const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net'];
