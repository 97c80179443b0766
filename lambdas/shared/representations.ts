/** How domain objects look on the wire (the HTTP contract). */
import type { FeedbackAnswer } from '../domain/feedback';
import type { Availability } from '../domain/inventory';
import type { Order, Product, Reservation } from '../domain/model';

export function reservationView(reservation: Reservation) {
  const { reservationId, sku, customerId, quantity, unitPriceCents, currency, status, expiresAt, orderId } =
    reservation;
  return {
    reservationId,
    sku,
    customerId,
    quantity,
    status,
    expiresAt,
    unitPriceCents,
    currency,
    ...(orderId ? { orderId } : {}),
  };
}

export function productView({ product, available }: Availability) {
  const { sku, name, priceCents, maxPerCustomer, holdSeconds, dropStartsAt, dropState, waitingRoom } = product;
  return {
    sku,
    name,
    priceCents,
    available,
    soldOut: available === 0,
    maxPerCustomer,
    holdSeconds,
    dropStartsAt,
    // Beyond the contract's fields: the operator's control and whether the page must queue first.
    dropState,
    waitingRoom,
  };
}

export function productSettingsView(product: Product) {
  const { sku, name, priceCents, currency, maxPerCustomer, holdSeconds, dropStartsAt, shards } = product;
  return { sku, name, priceCents, currency, maxPerCustomer, holdSeconds, dropStartsAt, shards };
}

export function orderView(order: Order) {
  const { orderId, reservationId, sku, quantity, status } = order;
  return { orderId, reservationId, sku, quantity, status };
}

/** A shopper's answer as they sent it, with when it was taken; never another shopper's. */
export function feedbackView(answer: FeedbackAnswer) {
  const { sku, customerId, outcome, rating, reasons, comment, answeredAt } = answer;
  return { sku, customerId, outcome, rating, reasons, ...(comment !== undefined ? { comment } : {}), answeredAt };
}
