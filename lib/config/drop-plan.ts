/**
 * The drop plan: the drops a deployment must be ready for, declared before
 * they start. The stack scales from it (see `capacity.ts`), so a bad plan is
 * refused at synth with a message that names the field, never guessed at.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { describeIssues } from '../../contract/requests';
import { SKU_PATTERN, SKU_RULE } from '../../contract/sku';

const Drop = z.strictObject({
  sku: z.string().regex(SKU_PATTERN, SKU_RULE),
  startsAt: z.iso.datetime({ offset: true }),
  /** Reservation attempts per second expected at the peak of the spike. */
  expectedPeakRps: z.int().min(1).max(1_000_000),
  units: z.int().min(1).max(10_000_000),
});

const DropPlanSchema = z.strictObject({ drops: z.array(Drop).max(50) });

export type Drop = z.infer<typeof Drop>;
export type DropPlan = z.infer<typeof DropPlanSchema>;

export const emptyDropPlan: DropPlan = { drops: [] };

export class DropPlanError extends Error {
  constructor(source: string, detail: string) {
    super(`Drop plan ${source} is not valid: ${detail}`);
    this.name = 'DropPlanError';
  }
}

export function parseDropPlan(raw: unknown, source = '(inline)'): DropPlan {
  const result = DropPlanSchema.safeParse(raw);
  if (!result.success) {
    throw new DropPlanError(source, describeIssues(result.error.issues));
  }
  const seen = new Set<string>();
  for (const drop of result.data.drops) {
    const key = `${drop.sku}@${Date.parse(drop.startsAt)}`;
    if (seen.has(key)) throw new DropPlanError(source, `${drop.sku} is declared twice at ${drop.startsAt}`);
    seen.add(key);
  }
  return result.data;
}

export function loadDropPlan(path: string): DropPlan {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DropPlanError(path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new DropPlanError(path, 'is not JSON');
  }
  return parseDropPlan(raw, path);
}
