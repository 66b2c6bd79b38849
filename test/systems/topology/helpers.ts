import { fileURLToPath } from 'node:url';
import { parseTopology, TopologyError, type TopologyIssue } from '../../../systems/topology/index.ts';

export const SHOP_FILE = fileURLToPath(new URL('../../../scenarios/topologies/shop.yaml', import.meta.url));
export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Runs `load` and returns the TopologyError it throws; fails the test if it does not throw one. */
export function topologyError(load: () => unknown): TopologyError {
  try {
    load();
  } catch (e) {
    if (e instanceof TopologyError) return e;
    throw e;
  }
  throw new Error('expected a TopologyError, but the topology loaded');
}

export const issuesOf = (text: string, file = 'inline.yaml'): readonly TopologyIssue[] =>
  topologyError(() => parseTopology(text, file)).issues;

/** A small valid landscape; tests splice one mistake into it. */
export const MINIMAL = `name: mini
dataKinds:
  - { id: order, key: orderId, fields: { orderId: string, total: int } }
  - { id: payment, key: orderId, fields: { orderId: string, amount: int } }
systems:
  - { id: A, name: storefront, role: ingress, costPerMessageUs: 100, ingress: [ { kind: order, fields: { orderId: "o-\${n}", total: "\${n * 10}" } } ] }
  - { id: B, name: payments, costPerMessageUs: 100, on: { order: { emit: [ { kind: payment, fields: { amount: "\${total}" } } ] } } }
  - { id: C, name: crm, costPerMessageUs: 100, on: { payment: {} } }
flows:
  - id: a-b
    from: A
    to: B
    data: order
    legacy: { transport: rest-sync, format: json }
  - id: b-c
    from: B
    to: C
    data: payment
    legacy: { transport: amqp, format: json }
`;
