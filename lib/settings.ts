/**
 * Deploy settings from CDK context (`-c key=value` or cdk.json), validated in one place so the
 * constructs receive typed props and a wrong combination fails synth with every problem named.
 *
 * Context values given with `-c` arrive as strings; values from cdk.json keep their JSON type.
 * Both are accepted.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { TABLE_DEFINITIONS } from '../lambda/adapters/table-definitions';

/** The context keys Clickvault reads. */
export const CONTEXT_KEYS = [
  'domainName',
  'hostedZoneName',
  'hostedZoneId',
  'certificateArn',
  'alarmEmail',
  'throttleRateLimit',
  'throttleBurstLimit',
  'logRetentionDays',
  'logLevel',
  'tracing',
  'webAclArn',
  'dashboardLoginPrefix',
  'deferIndexes',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

/**
 * Stage throttling. A click over the limit gets 429 and its visitor is not redirected (a lost
 * sale), so the default sits well above a small team's peaks (an ad burst of hundreds of clicks
 * a second) while still capping what abuse can cost; raise it above your own peak.
 */
export const DEFAULT_THROTTLE_RATE_LIMIT = 1000;
export const DEFAULT_THROTTLE_BURST_LIMIT = 2000;
export const DEFAULT_LOG_RETENTION = RetentionDays.THREE_MONTHS;

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface DomainSettings {
  /** The tracking host, e.g. trk.example.com (lower case, no trailing dot). */
  readonly domainName: string;
  /** The Route53 hosted zone that holds domainName, e.g. example.com. */
  readonly hostedZoneName: string;
  /** Hosted zone id: when given, the zone is used without a lookup (offline synth). */
  readonly hostedZoneId?: string;
  /** Existing ACM certificate in us-east-1 covering domainName; when absent one is created. */
  readonly certificateArn?: string;
}

export interface TrackerSettings {
  /** Custom tracking domain; undefined means the CloudFront default domain. */
  readonly domain?: DomainSettings;
  /** E-mail address subscribed to the dead-letter alarm topic; undefined means no topic. */
  readonly alarmEmail?: string;
  /** API Gateway default-stage throttling (requests per second, burst). */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  readonly logRetention: RetentionDays;
  readonly logLevel: LogLevel;
  /** X-Ray active tracing on the functions. */
  readonly tracing: boolean;
  /** ARN of an existing global (CLOUDFRONT scope) WAFv2 web ACL to attach to the distribution. */
  readonly webAclArn?: string;
  /** Prefix of the dashboard's login domain (`<prefix>.auth.<region>.amazoncognito.com`). @default clickvault-<account id> */
  readonly dashboardLoginPrefix?: string;
  /**
   * Secondary indexes left out of this deploy (`-c deferIndexes=byClick`): CloudFormation creates
   * at most one new index per table and update, so a stack from before two new indexes is
   * upgraded in two deploys (docs/deploy.md, "Upgrading"). Empty in every other deploy.
   */
  readonly deferIndexes: readonly string[];
}

/** Every secondary index name of the tracker's tables (what deferIndexes may name). */
const INDEX_NAMES: readonly string[] = TABLE_DEFINITIONS.flatMap((def) => def.globalIndexes.map((index) => index.indexName));

export class ContextError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid Clickvault context:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ContextError';
  }
}

const HOSTNAME = /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/;
const ZONE_ID = /^[A-Z0-9]{1,32}$/;
const ACM_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[A-Za-z0-9-]+$/;
const WAF_ARN = /^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\/[A-Za-z0-9_-]+\/[A-Za-z0-9-]+$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const RETENTION_VALUES = new Set<number>(
  Object.values(RetentionDays).filter((v): v is number => typeof v === 'number'),
);

/** Reads one key the way the CDK hands it over: string from `-c`, any JSON from cdk.json. */
export type ContextReader = (key: ContextKey) => unknown;

/** Parses and cross-checks the context; throws ContextError listing every problem. */
export function parseSettings(read: ContextReader): TrackerSettings {
  const problems: string[] = [];

  const given = (key: ContextKey): boolean => {
    const value = read(key);
    return value !== undefined && value !== null && !(typeof value === 'string' && value.trim() === '');
  };

  const text = (key: ContextKey): string | undefined => {
    const value = read(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      problems.push(`${key} must be a string, got ${JSON.stringify(value)}`);
      return undefined;
    }
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  };

  const integer = (key: ContextKey, fallback: number, min: number, max: number): number => {
    const value = read(key);
    if (value === undefined || value === null || value === '') return fallback;
    const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return n;
  };

  const bool = (key: ContextKey): boolean => {
    const value = read(key);
    if (value === undefined || value === null || value === '') return false;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    problems.push(`${key} must be true or false, got ${JSON.stringify(value)}`);
    return false;
  };

  const lowerHost = (key: ContextKey): string | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    const host = value.toLowerCase().replace(/\.$/, '');
    if (!HOSTNAME.test(host)) {
      problems.push(`${key} must be a DNS name such as trk.example.com, got "${value}"`);
      return undefined;
    }
    return host;
  };

  // Domain: all-or-nothing, and consistent.
  const domainName = lowerHost('domainName');
  const hostedZoneName = lowerHost('hostedZoneName');
  const rawZoneId = text('hostedZoneId');
  const hostedZoneId = rawZoneId?.replace(/^\/hostedzone\//, '');
  const certificateArn = text('certificateArn');

  if (hostedZoneId !== undefined && !ZONE_ID.test(hostedZoneId)) {
    problems.push(`hostedZoneId must look like Z0123456789ABCDEFGHIJ, got "${rawZoneId}"`);
  }
  if (hostedZoneId !== undefined && !given('hostedZoneName')) {
    problems.push('hostedZoneId needs hostedZoneName too (the zone is used without a lookup, so its name must be given)');
  }
  if (certificateArn !== undefined) {
    const match = ACM_ARN.exec(certificateArn);
    if (!match) {
      problems.push(`certificateArn must be an ACM certificate ARN, got "${certificateArn}"`);
    } else if (match[1] !== 'us-east-1') {
      problems.push(`certificateArn must be in us-east-1 (CloudFront only uses certificates from there), got region ${match[1]}`);
    }
  }
  if (domainName === undefined) {
    const orphans = (['hostedZoneName', 'hostedZoneId', 'certificateArn'] as const).filter(given);
    if (orphans.length > 0 && !given('domainName')) {
      problems.push(`${orphans.join(', ')} given without domainName; add -c domainName=trk.example.com or drop them`);
    }
  } else if (!given('hostedZoneName')) {
    problems.push(`domainName ${domainName} needs hostedZoneName (the Route53 zone that holds it, e.g. -c hostedZoneName=${domainName.split('.').slice(-2).join('.')})`);
  } else if (hostedZoneName !== undefined && domainName !== hostedZoneName && !domainName.endsWith(`.${hostedZoneName}`)) {
    problems.push(`domainName ${domainName} is not inside the hosted zone ${hostedZoneName}`);
  }

  const alarmEmail = text('alarmEmail');
  if (alarmEmail !== undefined && !EMAIL.test(alarmEmail)) {
    problems.push(`alarmEmail must be an e-mail address, got "${alarmEmail}"`);
  }

  const rateLimit = integer('throttleRateLimit', DEFAULT_THROTTLE_RATE_LIMIT, 1, 10_000);
  const burstLimit = integer('throttleBurstLimit', DEFAULT_THROTTLE_BURST_LIMIT, 1, 5_000);

  const retention = integer('logRetentionDays', DEFAULT_LOG_RETENTION, 1, 3653);
  if (!RETENTION_VALUES.has(retention)) {
    problems.push(
      `logRetentionDays must be one of CloudWatch's values (${[...RETENTION_VALUES].sort((a, b) => a - b).join(', ')}), got ${retention}`,
    );
  }

  const logLevelRaw = text('logLevel') ?? 'INFO';
  const logLevel = logLevelRaw.toUpperCase();
  if (!['DEBUG', 'INFO', 'WARN', 'ERROR'].includes(logLevel)) {
    problems.push(`logLevel must be DEBUG, INFO, WARN or ERROR, got "${logLevelRaw}"`);
  }

  const webAclArn = text('webAclArn');
  if (webAclArn !== undefined && !WAF_ARN.test(webAclArn)) {
    problems.push(`webAclArn must be the ARN of a global (CLOUDFRONT scope) WAFv2 web ACL in us-east-1, got "${webAclArn}"`);
  }

  const tracing = bool('tracing');

  // Cognito's rule for a domain prefix: lower-case letters, digits and hyphens, not at the ends,
  // and never the words aws, amazon or cognito.
  const dashboardLoginPrefix = text('dashboardLoginPrefix');
  if (dashboardLoginPrefix !== undefined && (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(dashboardLoginPrefix) || /aws|amazon|cognito/.test(dashboardLoginPrefix))) {
    problems.push(`dashboardLoginPrefix must be lower-case letters, digits and inner hyphens (at most 63) without aws, amazon or cognito, got "${dashboardLoginPrefix}"`);
  }

  const deferIndexes = (text('deferIndexes') ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const name of deferIndexes) {
    if (!INDEX_NAMES.includes(name)) problems.push(`deferIndexes names "${name}", which is not an index of the tracker's tables (${INDEX_NAMES.join(', ')})`);
  }

  if (problems.length > 0) throw new ContextError(problems);

  return {
    domain:
      domainName !== undefined && hostedZoneName !== undefined
        ? { domainName, hostedZoneName, hostedZoneId, certificateArn }
        : undefined,
    alarmEmail,
    throttle: { rateLimit, burstLimit },
    logRetention: retention as RetentionDays,
    logLevel: logLevel as LogLevel,
    tracing,
    webAclArn,
    dashboardLoginPrefix,
    deferIndexes: [...new Set(deferIndexes)],
  };
}
