// Records, the codec and temp folders for the legacy transport tests.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { codecFor } from '../../../systems/legacy/index.ts';
import type { DataFormat } from '../../../systems/topology/model.ts';
import { sampleKinds } from '../codecs/samples.ts';

export const RABBIT_URL = process.env.UNTANGLE_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export function order(i: number) {
  return {
    orderId: `o-t-${i}`,
    customerId: `c-${i % 7}`,
    createdAtMs: 1_704_067_200_000 + i * 1000,
    items: [{ sku: 'TSHIRT-M', qty: 2, unitPriceCents: 1500 }, { sku: 'MUG', qty: 1, unitPriceCents: 900 }],
    totalCents: 3900,
    currency: 'EUR',
    country: 'DE',
    email: `c${i}@example.com`,
  };
}

export function payment(i: number) {
  return { orderId: `o-t-${i}`, paymentId: `p-${i}`, amountCents: 1000 + i, method: 'card', status: 'authorized' as const };
}

export function reservation(i: number) {
  return { orderId: `o-t-${i}`, reservationId: `r-${i}`, warehouse: 'WH-1', lines: [{ sku: 'TSHIRT-M', qty: 2 }, { sku: 'MUG', qty: 1 }] };
}

export const uniqueId = (what: string): string => `test-${what}-${randomBytes(4).toString('hex')}`;

export async function tempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'untangle-legacy-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The codec the transports are built with: over the shop's data kinds (declared inline in the codec samples). */
export const CODEC = codecFor(sampleKinds);

/** Encodes with the same codec the transports use. */
export function encodeTo(kind: string, format: DataFormat, records: unknown[]): Buffer {
  return CODEC.encodeBatch(kind, format, records);
}
