/**
 * JSON Schema draft 4, as API Gateway's request validator applies a method's model to a request body
 * ("Request validation for REST APIs in API Gateway", https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html;
 * models are draft 4: "Data models for REST APIs",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/models-mappings-models.html).
 *
 * The keywords dropline's models use are implemented; a model with any other keyword is refused when it
 * is compiled, so a new keyword is never skipped in silence. `format` is not asserted (draft 4 leaves it
 * optional to validators); the models pair every format with a `pattern` that is.
 */
export type Validate = (value: unknown) => string | undefined;

export class UnsupportedSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedSchemaError';
  }
}

const KEYWORDS = new Set([
  '$schema',
  'title',
  'description',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'enum',
  'items',
  'minItems',
  'maxItems',
  'format',
]);

type Schema = Record<string, unknown>;

/** A validator for `schema`: the first violation found (with where), or undefined. */
export function compileDraft04(schema: unknown, at = 'model'): Validate {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new UnsupportedSchemaError(`${at}: a schema must be an object`);
  }
  const s = schema as Schema;
  for (const keyword of Object.keys(s)) {
    if (!KEYWORDS.has(keyword)) throw new UnsupportedSchemaError(`${at}: the keyword ${keyword} is not supported`);
  }
  const checks: Array<(value: unknown, where: string) => string | undefined> = [];
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    checks.push((value, where) =>
      types.some((type) => isType(value, type)) ? undefined : `${where}: expected ${types.join(' or ')}`,
    );
  }
  if (s.enum !== undefined) {
    const allowed = (s.enum as unknown[]).map((value) => JSON.stringify(value));
    checks.push((value, where) =>
      allowed.includes(JSON.stringify(value)) ? undefined : `${where}: not one of the allowed values`,
    );
  }
  if (typeof s.pattern === 'string') {
    const pattern = new RegExp(s.pattern, 'u');
    checks.push((value, where) =>
      typeof value !== 'string' || pattern.test(value) ? undefined : `${where}: does not match ${s.pattern}`,
    );
  }
  const length = (value: string) => [...value].length;
  if (typeof s.minLength === 'number') {
    const min = s.minLength;
    checks.push((value, where) =>
      typeof value !== 'string' || length(value) >= min ? undefined : `${where}: shorter than ${min}`,
    );
  }
  if (typeof s.maxLength === 'number') {
    const max = s.maxLength;
    checks.push((value, where) =>
      typeof value !== 'string' || length(value) <= max ? undefined : `${where}: longer than ${max}`,
    );
  }
  if (typeof s.minimum === 'number') {
    const min = s.minimum;
    const exclusive = s.exclusiveMinimum === true;
    checks.push((value, where) =>
      typeof value !== 'number' || (exclusive ? value > min : value >= min) ? undefined : `${where}: below ${min}`,
    );
  }
  if (typeof s.maximum === 'number') {
    const max = s.maximum;
    const exclusive = s.exclusiveMaximum === true;
    checks.push((value, where) =>
      typeof value !== 'number' || (exclusive ? value < max : value <= max) ? undefined : `${where}: above ${max}`,
    );
  }
  if (s.items !== undefined) {
    const item = compileDraft04(s.items, `${at}.items`);
    checks.push((value, where) => {
      if (!Array.isArray(value)) return undefined;
      for (const [index, element] of value.entries()) {
        const error = item(element);
        if (error) return `${where}[${index}]${error.slice(1)}`;
      }
      return undefined;
    });
  }
  if (typeof s.minItems === 'number' || typeof s.maxItems === 'number') {
    const min = typeof s.minItems === 'number' ? s.minItems : 0;
    const max = typeof s.maxItems === 'number' ? s.maxItems : Number.POSITIVE_INFINITY;
    checks.push((value, where) =>
      !Array.isArray(value) || (value.length >= min && value.length <= max)
        ? undefined
        : `${where}: ${value.length} items, not within ${min}..${max}`,
    );
  }
  const properties = Object.entries((s.properties ?? {}) as Record<string, unknown>).map(
    ([name, property]) => [name, compileDraft04(property, `${at}.properties.${name}`)] as const,
  );
  const required = (s.required ?? []) as string[];
  const closed = s.additionalProperties === false;
  if (s.additionalProperties !== undefined && typeof s.additionalProperties !== 'boolean') {
    throw new UnsupportedSchemaError(`${at}: additionalProperties must be a boolean here`);
  }
  if (properties.length > 0 || required.length > 0 || closed) {
    const known = new Set(properties.map(([name]) => name));
    checks.push((value, where) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
      const object = value as Record<string, unknown>;
      for (const name of required) if (!Object.hasOwn(object, name)) return `${where}: ${name} is required`;
      if (closed) {
        const extra = Object.keys(object).find((name) => !known.has(name));
        if (extra !== undefined) return `${where}: ${extra} is not allowed`;
      }
      for (const [name, validate] of properties) {
        if (!Object.hasOwn(object, name)) continue;
        const error = validate(object[name]);
        if (error) return `${where}.${name}${error.slice(1)}`;
      }
      return undefined;
    });
  }
  return (value) => {
    for (const check of checks) {
      const error = check(value, '$');
      if (error) return error;
    }
    return undefined;
  };
}

function isType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    default:
      throw new UnsupportedSchemaError(`the type ${type} is not a draft 4 type`);
  }
}
