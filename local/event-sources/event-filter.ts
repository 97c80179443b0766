/**
 * Lambda's event filtering, for the patterns dropline's mappings use: a
 * record passes when, for every key of the pattern, its value is one of the
 * listed values (a list) or matches the nested pattern (an object). This is
 * the equality part of Lambda's filter rule syntax ("Control which events
 * Lambda sends to your function",
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html);
 * a pattern using any other rule (prefix, numeric, exists…) is refused
 * rather than matched differently from AWS.
 */
export type FilterPattern = { readonly [key: string]: FilterPattern | readonly (string | number | boolean)[] };

export function matchesFilter(record: unknown, pattern: FilterPattern): boolean {
  if (typeof record !== 'object' || record === null) return false;
  const fields = record as Record<string, unknown>;
  return Object.entries(pattern).every(([key, rule]) => {
    const value = fields[key];
    if (!Array.isArray(rule)) return matchesFilter(value, rule as FilterPattern);
    for (const allowed of rule) {
      if (typeof allowed === 'object' && allowed !== null) {
        throw new Error(`Filter rule ${JSON.stringify(allowed)} is not emulated locally; use value lists`);
      }
    }
    return rule.includes(value as string | number | boolean);
  });
}
