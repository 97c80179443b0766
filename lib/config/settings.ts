/**
 * What one deployment is told through CDK context (`-c key=value` or
 * cdk.json). Everything is read here, checked, and handed to the stacks as
 * typed props; no stack reads context itself.
 */
import type { Node } from 'constructs';
import { TRACING_MODES, type TracingMode } from '../../contract/env-vars';
import { type IdentityConfig, IdentityConfigError, parseIdentityConfig } from '../../contract/identity';
import { type CapacityLimits, defaultCapacityLimits } from './capacity';
import { type DropPlan, emptyDropPlan, loadDropPlan } from './drop-plan';

export interface DnsSettings {
  readonly domainName: string;
  readonly hostedZoneId: string;
  readonly hostedZoneName: string;
}

export interface DeploySettings {
  /** Prefix of every stack name, so several stages can share an account. */
  readonly prefix: string;
  /** Region of the API, functions and data; the edge (CloudFront, its WAF, certificate) is always us-east-1. */
  readonly region: string;
  readonly account: string | undefined;
  readonly dns: DnsSettings | undefined;
  readonly dropPlan: DropPlan;
  /**
   * The table's on-demand maximum (`tableMaxWriteUnits`, `tableMaxReadUnits`: the table-level quota
   * granted), the warm throughput it already has (`warmWritesFloor`, `warmReadsFloor`), and the
   * account's Lambda concurrency (`accountConcurrency`) and API Gateway throttle (`apiAccountRps`,
   * `apiAccountBurst`) as granted in the region.
   */
  readonly capacityLimits: CapacityLimits;
  /** Where alarms are emailed (optional; the alarm topic exists either way). */
  readonly alarmEmail: string | undefined;
  /** `count` makes the edge WAF record instead of block, for a stage that rehearsals load. */
  readonly wafMode: 'enforce' | 'count';
  /** Which versions of the origin secret CloudFront sends and the API accepts (docs/deploy.md, rotation). */
  readonly originSecret: OriginSecretVersions;
  /** Versions the `live` aliases stay on whatever this deploy publishes (docs/deploy.md, deploying during a drop). */
  readonly pinnedVersions: PinnedVersions;
  /** `-c deployDuringDrop=true`: deploy inside a drop window without pins, accepting the reallocation. */
  readonly deployDuringDrop: boolean;
  /**
   * The shop's OpenID Connect provider (`-c identityIssuer=… -c identityAudience=… [-c identityJwksUri=…]`):
   * reservations are then for the verified subject of the shopper's bearer token. Unset: `customerId` as sent.
   */
  readonly identity: IdentityConfig | undefined;
  /**
   * `-c tracing=sdk` loads the X-Ray SDK into every function (a subsegment per AWS call, at a CPU cost on
   * every invocation); `service`, the default, keeps Lambda's and API Gateway's own tracing only.
   */
  readonly tracing: TracingMode;
}

/** Lambda version numbers (`aws lambda get-alias … --name live` prints them) the drop paths' aliases are held on. */
export interface PinnedVersions {
  /** `-c reservationVersion=N`: the create-reservation function's version. */
  readonly reservation: string | undefined;
  /** `-c checkoutVersion=N`: the checkout-reservation function's version. */
  readonly checkout: string | undefined;
}

/**
 * Secrets Manager version ids (`VersionId`, as `put-secret-value` prints it) of the origin secret.
 * Without `version` both sides read the secret's current value, as first created.
 */
export interface OriginSecretVersions {
  /** The version CloudFront sends (`-c originSecretVersion=`). */
  readonly version: string | undefined;
  /** The version the API still accepts while the edge moves to `version` (`-c originSecretPreviousVersion=`). */
  readonly previousVersion: string | undefined;
}

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

const text = (node: Node, key: string): string | undefined => {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new SettingsError(`context ${key} must be a string`);
  return value.trim();
};

const capacityKeys = [
  'tableMaxWriteUnits',
  'tableMaxReadUnits',
  'warmWritesFloor',
  'warmReadsFloor',
  'accountConcurrency',
  'apiAccountRps',
  'apiAccountBurst',
] as const satisfies readonly (keyof CapacityLimits)[];

/** Quotas that cannot be zero: an account with none of them cannot serve a drop. */
const positive = new Set<keyof CapacityLimits>(['accountConcurrency', 'apiAccountRps', 'apiAccountBurst']);

/** A whole number from context (`-c key=40000` arrives as a string, cdk.json may hold a number). */
const whole = (node: Node, key: keyof CapacityLimits): number => {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '') return defaultCapacityLimits[key];
  const value = typeof raw === 'string' ? Number(raw.trim()) : raw;
  const least = positive.has(key) ? 1 : 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < least || value > 10_000_000) {
    throw new SettingsError(`context ${key} must be a whole number from ${least} to 10000000`);
  }
  return value;
};

/** The quotas and warm-throughput floors context declares (defaults: AWS's defaults, no floor). */
export function readCapacityLimits(node: Node): CapacityLimits {
  return Object.fromEntries(capacityKeys.map((key) => [key, whole(node, key)])) as unknown as CapacityLimits;
}

/** A Secrets Manager VersionId is 32 to 64 characters (a UUID when Secrets Manager generates it). */
const VERSION_ID = /^[A-Za-z0-9-]{32,64}$/;

function readOriginSecret(node: Node): OriginSecretVersions {
  const version = text(node, 'originSecretVersion');
  const previousVersion = text(node, 'originSecretPreviousVersion');
  for (const [key, value] of [
    ['originSecretVersion', version],
    ['originSecretPreviousVersion', previousVersion],
  ] as const) {
    if (value !== undefined && !VERSION_ID.test(value)) {
      throw new SettingsError(`context ${key} must be a Secrets Manager VersionId (32-64 letters, digits, -)`);
    }
  }
  if (previousVersion !== undefined && version === undefined) {
    throw new SettingsError(
      'context originSecretPreviousVersion needs originSecretVersion: the version that replaces it',
    );
  }
  if (previousVersion !== undefined && previousVersion === version) {
    throw new SettingsError('context originSecretPreviousVersion must differ from originSecretVersion');
  }
  return { version, previousVersion };
}

/** A published Lambda version is a positive whole number ("Lambda function versions", AWS Lambda Developer Guide). */
const LAMBDA_VERSION = /^[1-9][0-9]{0,9}$/;

/** A version number from context: `-c key=7` arrives as a string, cdk.json may hold a number. */
const versionNumber = (node: Node, key: string): string | undefined => {
  const raw: unknown = node.tryGetContext(key);
  return typeof raw === 'number' ? String(raw) : text(node, key);
};

function readPinnedVersions(node: Node): PinnedVersions {
  const pins = {
    reservation: versionNumber(node, 'reservationVersion'),
    checkout: versionNumber(node, 'checkoutVersion'),
  };
  for (const [path, value] of Object.entries(pins)) {
    if (value !== undefined && !LAMBDA_VERSION.test(value)) {
      throw new SettingsError(
        `context ${path}Version must be a published Lambda version number (1, 2, …), not ${value}`,
      );
    }
  }
  return pins;
}

function readIdentity(node: Node): IdentityConfig | undefined {
  try {
    return parseIdentityConfig({
      issuer: text(node, 'identityIssuer'),
      audience: text(node, 'identityAudience'),
      jwksUri: text(node, 'identityJwksUri'),
    });
  } catch (error) {
    if (error instanceof IdentityConfigError) throw new SettingsError(`identity provider: ${error.message}`);
    throw error;
  }
}

function readFlag(node: Node, key: string): boolean {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '' || raw === false || raw === 'false') return false;
  if (raw === true || raw === 'true') return true;
  throw new SettingsError(`context ${key} must be true or false`);
}

export function readSettings(node: Node, env: NodeJS.ProcessEnv = process.env): DeploySettings {
  const prefix = text(node, 'prefix') ?? 'Dropline';
  if (!/^[A-Za-z][A-Za-z0-9-]{0,30}$/.test(prefix)) {
    throw new SettingsError('context prefix must start with a letter: letters, digits and -, at most 31');
  }
  const region = text(node, 'region') ?? env.CDK_DEFAULT_REGION ?? 'us-east-1';
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new SettingsError(`context region ${region} is not an AWS region`);

  const dnsKeys = ['domainName', 'hostedZoneId', 'hostedZoneName'] as const;
  const dnsValues = dnsKeys.map((key) => text(node, key));
  const given = dnsValues.filter((value) => value !== undefined).length;
  if (given > 0 && given < dnsKeys.length) {
    const missing = dnsKeys.filter((_, index) => dnsValues[index] === undefined);
    throw new SettingsError(`DNS needs all of ${dnsKeys.join(', ')}; missing ${missing.join(', ')}`);
  }
  const [domainName, hostedZoneId, hostedZoneName] = dnsValues;
  let dns: DnsSettings | undefined;
  if (domainName && hostedZoneId && hostedZoneName) {
    const zone = hostedZoneName.replace(/\.$/, '');
    if (domainName !== zone && !domainName.endsWith(`.${zone}`)) {
      throw new SettingsError(`domainName ${domainName} is not inside hostedZoneName ${zone}`);
    }
    if (!/^Z[A-Z0-9]{1,31}$/.test(hostedZoneId)) {
      throw new SettingsError(`hostedZoneId ${hostedZoneId} does not look like a Route 53 zone id`);
    }
    dns = { domainName, hostedZoneId, hostedZoneName: zone };
  }

  const planPath = text(node, 'dropPlan');
  const alarmEmail = text(node, 'alarmEmail');
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) {
    throw new SettingsError(`alarmEmail ${alarmEmail} is not an email address`);
  }
  const wafMode = text(node, 'wafMode') ?? 'enforce';
  if (wafMode !== 'enforce' && wafMode !== 'count') throw new SettingsError('context wafMode must be enforce or count');
  const tracingValue = text(node, 'tracing') ?? 'service';
  const tracing = TRACING_MODES.find((mode) => mode === tracingValue);
  if (!tracing) throw new SettingsError(`context tracing must be ${TRACING_MODES.join(' or ')}, not ${tracingValue}`);
  return {
    tracing,
    wafMode,
    originSecret: readOriginSecret(node),
    pinnedVersions: readPinnedVersions(node),
    deployDuringDrop: readFlag(node, 'deployDuringDrop'),
    identity: readIdentity(node),
    prefix,
    region,
    account: text(node, 'account') ?? env.CDK_DEFAULT_ACCOUNT,
    dns,
    dropPlan: planPath ? loadDropPlan(planPath) : emptyDropPlan,
    capacityLimits: readCapacityLimits(node),
    alarmEmail,
  };
}
