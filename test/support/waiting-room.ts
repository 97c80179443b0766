/** A shopper's calls to the waiting room and to the reservation route it guards, as the integration tests make them. */
import { type ApiClient, type ApiResponse, attemptKey } from '../../local/api-client';

/** The queue's answer (README: the waiting room). */
export interface Place {
  state: string;
  position: number | null;
  ahead: number | null;
  etaSeconds: number | null;
  admitted: boolean;
  ticket: string;
  admission?: string;
  mayReturn?: number;
  /** When to ask again: 1 s near the end (every unit held, or no more left than held), else 2 s. */
  pollSeconds: number;
  turnPassed?: boolean;
}

/** An error answer's code. */
export const codeOf = (response: ApiResponse<unknown>) => (response.body as { error?: { code?: string } }).error?.code;

export function waitingRoom(api: () => ApiClient) {
  return {
    /** Asks the queue for a place, with the ticket from a previous answer if any. */
    queue: (sku: string, customerId: string, ticket?: string) =>
      api().call<Place>('GET', `/drops/${sku}/queue?customerId=${encodeURIComponent(customerId)}`, {
        ...(ticket ? { headers: { 'x-dropline-ticket': ticket } } : {}),
      }),
    /** One unit, with the admission if given, under a new attempt key unless one is given. */
    reserve: (sku: string, customerId: string, admission?: string, key = attemptKey()) =>
      api().call<{ reservationId: string }>('POST', `/products/${sku}/reservations`, {
        body: { customerId, quantity: 1 },
        headers: { 'idempotency-key': key, ...(admission ? { 'x-dropline-admission': admission } : {}) },
      }),
  };
}
