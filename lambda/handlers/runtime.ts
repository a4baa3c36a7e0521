/**
 * Builds each function's dependencies from its environment, once per process: the config the
 * stack shipped in the bundle, DynamoDB adapters on the named tables, the SQS dead-letter sink.
 */
import { readBundledConfig } from '../../config/bundled';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, DynamoInboundLog, createDynamoClient } from '../adapters/dynamodb-store';
import { DynamoConversionHistory } from '../adapters/conversion-history';
import type { InboundSink } from './inbound';
import { SqsDeadLetterSink } from '../adapters/sqs-dead-letter';
import { ENV, TABLE_ENV } from '../contract';
import type { ClickDeps } from '../core/click';
import type { LanderClickDeps } from '../core/lander-click';
import type { DeadLetterLedger, DeadLetterSink } from '../core/model';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDeadLetterLedger } from '../adapters/dead-letter-ledger';
import { GuardedDeadLetterSink } from '../core/dead-letters';
import type { PostbackDeps } from '../core/postback';
import type { IpnDeps } from '../core/ipn';
import { CachedSecretReader, type SecretReader } from '../adapters/secrets';
import { createProtection, type AuthResult } from '../core/protection';
import type { IpStorage, PostbackProtection, TrackerConfig } from '../../config/schema';
import { FetchChannelPostback } from '../adapters/channel-postback';
import { forwardConversion, type ForwardDeps } from '../core/forward';
import type { ConversionDeps } from '../core/conversion';
import type { ForwardStore } from '../core/model';
import { compileConfig } from '../core/tracker-config';
import { logger } from '../logger';
import { CALL_BUDGETS } from '../adapters/aws-clients';
import { whenSlow } from './deadline';

const configs = new Map<string, TrackerConfig>();

/** The config shipped in the bundle (TRACKER_CONFIG), read once per process. */
function bundledConfig(env: NodeJS.ProcessEnv): TrackerConfig {
  const path = requireEnv(ENV.trackerConfig, env);
  let config = configs.get(path);
  if (!config) configs.set(path, (config = readBundledConfig(path)));
  return config;
}

/** A required environment variable; a missing one is a deployment bug, so fail loudly. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

export function originSecretFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[ENV.originVerifySecret] || undefined;
}

/**
 * The dead-letter queue behind its guard (core/dead-letters): with the ledger, repeats of a
 * queued failure are not queued again and each source's distinct failures per hour are capped;
 * without one (the click function: clicks are never capped) the guard passes everything on.
 */
export function guardedDeadLetters(queue: DeadLetterSink, ledger: DeadLetterLedger | undefined, config: TrackerConfig): () => DeadLetterSink {
  const sink = new GuardedDeadLetterSink(queue, ledger, { maxDistinctPerHour: config.deadLetters.maxDistinctPerHour, log: logger });
  return () => sink;
}

function deadLettersFromEnv(env: NodeJS.ProcessEnv, config: TrackerConfig, ledger: { client: DynamoDBClient }): () => DeadLetterSink {
  const queue = new SqsDeadLetterSink(requireEnv(ENV.deadLetterQueueUrl, env));
  return guardedDeadLetters(queue, new DynamoDeadLetterLedger(ledger.client, requireEnv(TABLE_ENV.deadLetterLedger, env)), config);
}

export function clickDepsFromEnv(env: NodeJS.ProcessEnv = process.env): ClickDeps {
  const client = createDynamoClient();
  const config = bundledConfig(env);
  // The click's queue is never guarded (clicks are never capped), so the SQS sink is at hand.
  const queue = new SqsDeadLetterSink(requireEnv(ENV.deadLetterQueueUrl, env));
  const clicks = new DynamoClickStore(client, requireEnv(TABLE_ENV.clicks, env));
  return {
    config: compileConfig(config),
    clicks: {
      // The SQS client loads on first use, which on a cold 256 MB instance takes a good part
      // of the fallback's time: once the write's first attempt has timed out, load it while
      // the retry runs, so a hanging DynamoDB still leaves time to queue the click.
      putClick: (click) => whenSlow(clicks.putClick(click), CALL_BUDGETS.dynamodb.attemptTimeoutMs, () => queue.prepare()),
    },
    deadLetters: guardedDeadLetters(queue, undefined, config),
    log: logger,
  };
}

/** The lander-click function (GET /go): the clicks table (one conditional update) and the queue. */
export function landerDepsFromEnv(env: NodeJS.ProcessEnv = process.env): LanderClickDeps {
  const config = bundledConfig(env);
  const client = createDynamoClient();
  const queue = new SqsDeadLetterSink(requireEnv(ENV.deadLetterQueueUrl, env));
  const clicks = new DynamoClickStore(client, requireEnv(TABLE_ENV.clicks, env));
  return {
    config: compileConfig(config),
    clicks: {
      // As for the click: once the update's first attempt has timed out, load the SQS client
      // while the retry runs, so a hanging DynamoDB still leaves time to queue the lander click.
      recordLanderClick: (landerClick) => whenSlow(clicks.recordLanderClick(landerClick), CALL_BUDGETS.dynamodb.attemptTimeoutMs, () => queue.prepare()),
    },
    // Lander clicks are keyless requests: a queued one is deduped and capped per network.
    deadLetters: guardedDeadLetters(queue, new DynamoDeadLetterLedger(client, requireEnv(TABLE_ENV.deadLetterLedger, env)), config),
    log: logger,
  };
}

/**
 * Forwarding to traffic channels, when the config asks for it (a type with forwardToChannel
 * and a channel with a postbackUrl); undefined otherwise.
 */
export function forwardingFor(config: TrackerConfig, store: ForwardStore, deadLetters: ForwardDeps['deadLetters']): ForwardDeps | undefined {
  const forwards = config.conversionTypes.some((t) => t.forwardToChannel) && config.trafficChannels.some((c) => c.postbackUrl);
  if (!forwards) return undefined;
  return { channels: new Map(config.trafficChannels.map((c) => [c.id, c])), store, channel: new FetchChannelPostback(), deadLetters };
}

/** The dependencies every conversion-recording function shares. */
export function conversionDeps(
  config: TrackerConfig,
  stores: Pick<ConversionDeps, 'clicks' | 'types' | 'history'> & { conversions: DynamoConversionStore },
  deadLetters: ForwardDeps['deadLetters'],
): ConversionDeps & { deadLetters: ForwardDeps['deadLetters'] } {
  const forwarding = forwardingFor(config, stores.conversions, deadLetters);
  return {
    ...stores,
    deadLetters,
    defaultCurrency: config.defaults.currency,
    ...(config.defaults.currencies ? { currencies: new Set(config.defaults.currencies) } : {}),
    ...(forwarding ? { forward: (c, now) => forwardConversion(c, now, forwarding) } : {}),
  };
}

function conversionDepsFromEnv(config: TrackerConfig, env: NodeJS.ProcessEnv) {
  const client = createDynamoClient();
  const conversionsTable = requireEnv(TABLE_ENV.conversions, env);
  return conversionDeps(
    config,
    {
      clicks: new DynamoClickStore(client, requireEnv(TABLE_ENV.clicks, env)),
      conversions: new DynamoConversionStore(client, conversionsTable),
      history: new DynamoConversionHistory(client, conversionsTable),
      types: new DynamoConversionTypes(client, requireEnv(TABLE_ENV.conversionTypes, env)),
    },
    deadLettersFromEnv(env, config, { client }),
  );
}

export function postbackDepsFromEnv(env: NodeJS.ProcessEnv = process.env): PostbackDeps {
  return conversionDepsFromEnv(bundledConfig(env), env);
}

/** The IPN function's dependencies; undefined when the config has no digistore24.ipn section. */
export function ipnDepsFromEnv(env: NodeJS.ProcessEnv = process.env): IpnDeps | undefined {
  const config = bundledConfig(env);
  const ipn = config.digistore24?.ipn;
  if (!ipn) return undefined;
  const secrets = new CachedSecretReader('aws', env);
  return { ...conversionDepsFromEnv(config, env), ipn, passphrase: () => secrets.read(ipn.passphrase) };
}

/** Binds the config's postback protection to a secret reader. */
export function postbackAuth(
  protection: PostbackProtection | undefined,
  secrets: SecretReader,
  ipStorage: IpStorage = 'truncated',
): { authenticate?: (key: string | undefined, ip: string | undefined) => Promise<AuthResult> } {
  // Acknowledged unprotected mode: nothing to check (every pixel is then anonymous).
  if (!protection?.sources) return {};
  return {
    authenticate: createProtection({
      required: protection.required,
      sources: protection.sources.map((source) => ({
        id: source.id,
        // One unreadable key (say, an old secret deleted mid-rotation) must not disable the others.
        keys: async () => (await Promise.allSettled(source.keys.map((ref) => secrets.read(ref)))).map((r) => (r.status === 'fulfilled' ? r.value : undefined)),
        ...(source.allowedIps ? { allowedIps: source.allowedIps } : {}),
      })),
    }, ipStorage),
  };
}

export function postbackAuthFromEnv(env: NodeJS.ProcessEnv = process.env) {
  const config = bundledConfig(env);
  return postbackAuth(config.postbackProtection, new CachedSecretReader('aws', env), config.defaults.ipStorage);
}

/** The inbound log from INBOUND_TABLE (optional: without it nothing is kept for trace). */
export function inboundFromEnv(env: NodeJS.ProcessEnv = process.env): { inbound?: InboundSink } {
  const table = env[TABLE_ENV.inbound];
  if (!table) return {};
  const config = bundledConfig(env);
  return { inbound: { log: new DynamoInboundLog(createDynamoClient(), table), retentionDays: config.defaults.clickRetentionDays } };
}
