/**
 * What outside input may look like. Everything from a request passes through
 * one of these before it reaches a use case; identifiers are narrow enough
 * that they can never smuggle a key separator or a path into a table key.
 * API Gateway validates bodies with the same schemas (converted to JSON
 * Schema) before a function runs, and the handlers validate again.
 *
 * Written with `zod/mini`, whose functions tree-shake: the classic `zod`
 * namespace drags every locale into each bundle (~440 KiB minified).
 */
import * as z from 'zod/mini';
import { DROP_ACTIONS, type DropAction, ROOM_ACTIONS } from './drops';
import { MAX_SHARDS } from './inventory-table';
import type { HandlerName } from './routes';
import { SKU_PATTERN, SKU_RULE } from './sku';

export const Sku = z.string().check(z.regex(SKU_PATTERN, SKU_RULE));
export const CustomerId = z
  .string()
  .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._@:+|-]{0,127}$/, 'letters, digits and ._@:+|-; at most 128'));
export const ReservationId = z.uuid();
/** Printable ASCII without spaces, as the IETF Idempotency-Key draft suggests; at most 255. */
export const IdempotencyKey = z.string().check(z.regex(/^[\x21-\x7E]{1,255}$/, 'printable ASCII; at most 255'));

const integer = (min: number, max: number) => z.int().check(z.gte(min), z.lte(max));

export const ReservationBody = z.strictObject({
  customerId: CustomerId,
  quantity: integer(1, 100),
});

export const ProductBody = z.strictObject({
  name: z.string().check(z.trim(), z.minLength(1), z.maxLength(200)),
  priceCents: integer(0, 100_000_000),
  currency: z.optional(z.string().check(z.regex(/^[A-Z]{3}$/, 'ISO 4217: three capital letters'))),
  stock: integer(0, 10_000_000),
  maxPerCustomer: z.optional(integer(1, 100)),
  holdSeconds: z.optional(integer(1, 3600)),
  dropStartsAt: z.optional(z.iso.datetime({ offset: true })),
  shards: z.optional(integer(1, MAX_SHARDS)),
  /** Set at creation only: a SKU the drop plan names starts with its room on unless this says false. */
  waitingRoom: z.optional(z.boolean()),
});

export const RestockBody = z.strictObject({
  quantity: integer(1, 10_000_000),
});

export const CheckoutBody = z.strictObject({
  paymentToken: z.string().check(z.minLength(1), z.maxLength(255)),
});

/** What the shopper was answering about: the outcome the page saw. */
export const FEEDBACK_OUTCOMES = ['HELD', 'SOLD_OUT', 'PAID', 'DECLINED', 'LEFT'] as const;
/** What went wrong, when something did. */
export const FEEDBACK_REASONS = ['SLOW', 'ERROR', 'STOCK_WRONG', 'UNFAIR', 'OTHER'] as const;
export type FeedbackOutcome = (typeof FEEDBACK_OUTCOMES)[number];
export type FeedbackReason = (typeof FEEDBACK_REASONS)[number];

/**
 * A comment is plain text: no markup characters and no control characters
 * but the newline, so nothing that shows it can be made to run it.
 */
const PlainComment = z.string().check(
  z.maxLength(500),
  // biome-ignore lint/suspicious/noControlCharactersInRegex: naming the control characters to refuse is its purpose
  z.regex(/^[^<>\u0000-\u0009\u000b-\u001f\u007f]*$/, 'plain text: no < or > and no control characters'),
);

export const FeedbackBody = z.strictObject({
  customerId: CustomerId,
  outcome: z.enum(FEEDBACK_OUTCOMES),
  rating: integer(1, 5),
  reasons: z.optional(z.array(z.enum(FEEDBACK_REASONS)).check(z.maxLength(FEEDBACK_REASONS.length))),
  comment: z.optional(PlainComment),
  /** How long the shopper's last answer from the API took, as their page measured it. */
  latencyMs: z.optional(integer(0, 600_000)),
  /** The availability the page showed when the shopper answered. */
  seenAvailable: z.optional(integer(0, 10_000_000)),
});

/** Which routes take a JSON body, and its schema. */
export const bodySchemas: Partial<Record<HandlerName, z.ZodMiniType>> = {
  'create-reservation': ReservationBody,
  'checkout-reservation': CheckoutBody,
  'put-product': ProductBody,
  'restock-product': RestockBody,
  'post-feedback': FeedbackBody,
};

export const skuPath = z.object({ pathParameters: z.object({ sku: Sku }) });
/** `POST /admin/drops/{sku}/{action}`: an unknown action is a 400 naming the three. */
export const dropControlPath = z.object({
  pathParameters: z.object({
    sku: Sku,
    action: z.enum([...Object.keys(DROP_ACTIONS), ...Object.keys(ROOM_ACTIONS)] as [DropAction, ...DropAction[]]),
  }),
});
export const reservationPath = z.object({ pathParameters: z.object({ reservationId: ReservationId }) });
export const orderPath = z.object({ pathParameters: z.object({ orderId: z.uuid() }) });

/** Validation issues in one line, each naming its field: `skus.0: letters, digits…; dryRun: expected boolean`. */
export function describeIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  return issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`).join('; ');
}

/** A JSON request body that must match `schema`; unparsable JSON is an issue at `body`, its text never echoed. */
export function jsonBody<B extends z.ZodMiniType>(schema: B) {
  const parsedJson = z.pipe(
    z.string(),
    z.transform((text: string, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        context.issues.push({ code: 'custom', message: 'not valid JSON', input: '' });
        return z.NEVER;
      }
    }),
  );
  return z.pipe(parsedJson, schema);
}

export function withBody<B extends z.ZodMiniType>(schema: B) {
  return { body: jsonBody(schema) };
}
