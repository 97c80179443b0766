/**
 * Which routes take a JSON body, and its schema: the handlers' own. API
 * Gateway validates with these (converted to JSON Schema) before a function
 * runs; the handlers validate again with the same schemas.
 */
import type * as z from 'zod/mini';
import { CheckoutBody, ProductBody, ReservationBody, RestockBody } from '../../lambdas/shared/schemas';
import type { HandlerName } from './api-routes';

export const bodySchemas: Partial<Record<HandlerName, z.ZodMiniType>> = {
  'create-reservation': ReservationBody,
  'checkout-reservation': CheckoutBody,
  'put-product': ProductBody,
  'restock-product': RestockBody,
};
