/**
 * What the functions publish to CloudWatch (Powertools, EMF) and what the
 * alarms and dashboards read, named once. Deployed, the namespace and the
 * `service` dimension are the stage, set by the stack; the defaults name them
 * where nothing does (the local runtime, a test).
 */
export const DEFAULT_SERVICE_NAME = 'dropline';
export const DEFAULT_METRICS_NAMESPACE = 'Dropline';

export const metricNames = {
  reservationPlaced: 'ReservationPlaced',
  reservationReplayed: 'ReservationReplayed',
  orderPlaced: 'OrderPlaced',
  checkoutReplayed: 'CheckoutReplayed',
  ordersRelayed: 'OrdersRelayed',
  stockSnapshotsPublished: 'StockSnapshotsPublished',
  ordersFulfilled: 'OrdersFulfilled',
  ordersAlreadyFulfilled: 'OrdersAlreadyFulfilled',
  ordersRedriven: 'OrdersRedriven',
  channelSnapshotApplied: 'ChannelSnapshotApplied',
  channelSnapshotSuperseded: 'ChannelSnapshotSuperseded',
  /** Milliseconds from a message's publication to the edge's KeyValueStore holding it. */
  edgeStateLag: 'EdgeStateLag',
  holdsExpired: 'HoldsExpired',
  refundsSettled: 'RefundsSettled',
  /** Alarmed: a hold the sweep could not expire keeps its units held. */
  holdExpiryFailed: 'HoldExpiryFailed',
  /** Alarmed: a refund owed for an unsold hold is older than its bound. */
  refundOverdue: 'RefundOverdue',
  /** Alarmed: supplied ≠ available + held + sold in a published snapshot. */
  ledgerDrift: 'LedgerDrift',
  /** Alarmed: a SKU the sweeper could not reconcile keeps a stock view and channels the relay may have left stale. */
  reconcileFailed: 'SnapshotReconcileFailed',
  /** A shopper answered the page's poll (dimension-free; the admin route has the breakdown). */
  feedbackReceived: 'FeedbackReceived',
  /** The rating given, 1–5, one value per answer. */
  shopperRating: 'ShopperRating',
  /** An answer said the stock looked wrong. */
  stockLookedWrong: 'StockLookedWrong',
} as const;

/** Every API answer, counted by status class: `Http2xx`, `Http4xx`, `Http5xx`. */
export const httpStatusMetric = (statusCode: number): string => `Http${Math.floor(statusCode / 100)}xx`;

/** Every error answer, counted by its code: `Error_SOLD_OUT`. */
export const errorCodeMetric = (code: string): string => `Error_${code}`;
