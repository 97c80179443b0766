/**
 * The HTTP contract's routes and the function behind each, described once.
 * The CDK stack builds API Gateway resources from this table and the local
 * gateway routes by it, so the two cannot disagree.
 */
export type HandlerName =
  | 'get-product'
  | 'create-reservation'
  | 'get-reservation'
  | 'release-reservation'
  | 'checkout-reservation'
  | 'get-order'
  | 'get-channels'
  | 'put-product'
  | 'restock-product'
  | 'get-ledger'
  | 'post-feedback'
  | 'get-feedback'
  | 'control-drop'
  | 'health';

export interface ApiRoute {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** API Gateway resource path; `{name}` segments become path parameters. */
  readonly path: string;
  readonly handler: HandlerName;
  /** Admin routes need the API key (`x-api-key`). */
  readonly access: 'shopper' | 'admin';
}

export const apiRoutes: readonly ApiRoute[] = [
  { method: 'GET', path: '/products/{sku}', handler: 'get-product', access: 'shopper' },
  { method: 'POST', path: '/products/{sku}/reservations', handler: 'create-reservation', access: 'shopper' },
  { method: 'GET', path: '/reservations/{reservationId}', handler: 'get-reservation', access: 'shopper' },
  { method: 'DELETE', path: '/reservations/{reservationId}', handler: 'release-reservation', access: 'shopper' },
  {
    method: 'POST',
    path: '/reservations/{reservationId}/checkout',
    handler: 'checkout-reservation',
    access: 'shopper',
  },
  { method: 'GET', path: '/orders/{orderId}', handler: 'get-order', access: 'shopper' },
  { method: 'PUT', path: '/admin/products/{sku}', handler: 'put-product', access: 'admin' },
  { method: 'POST', path: '/admin/products/{sku}/restock', handler: 'restock-product', access: 'admin' },
  { method: 'GET', path: '/admin/products/{sku}/ledger', handler: 'get-ledger', access: 'admin' },
  { method: 'GET', path: '/admin/products/{sku}/channels', handler: 'get-channels', access: 'admin' },
  { method: 'POST', path: '/products/{sku}/feedback', handler: 'post-feedback', access: 'shopper' },
  { method: 'GET', path: '/admin/products/{sku}/feedback', handler: 'get-feedback', access: 'admin' },
  { method: 'POST', path: '/admin/drops/{sku}/{action}', handler: 'control-drop', access: 'admin' },
  /** Not in the shopper contract: the target of the Route 53 health check. */
  { method: 'GET', path: '/health', handler: 'health', access: 'shopper' },
];

export interface Schedule {
  readonly handler: 'expire-holds' | 'advance-admission';
  /** Locally the runtime sweeps this often; the deployed stack schedules the same function. */
  readonly localEveryMs: number;
}

export const schedules: readonly Schedule[] = [
  { handler: 'expire-holds', localEveryMs: 1000 },
  { handler: 'advance-admission', localEveryMs: 1000 },
];
