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
import type { ForwardDeps } from '../core/forward';
import { DynamoIpKeyStore } from '../adapters/ip-keys';
import { FetchHttpClient } from '../adapters/http-client';
import { SqsSendQueue } from '../adapters/send-queue';
import { DynamoSendClicks, DynamoSendState } from '../adapters/send-state';
import { GoogleTokens } from '../core/platform-google-ads';
import { IpKeyRing } from '../core/sealed-ip';
import { configSends, sendConfig, sendMark, type SendDeps } from '../core/send';
import type { HttpClient, SecretSource, SendQueue } from '../core/send-model';
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
  const ipKeysTable = env[TABLE_ENV.ipKeys];
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
    // Only with a Meta or TikTok conversion API: the day key that seals their clicks' addresses.
    ...(ipKeysTable ? { ipKeys: new IpKeyRing(new DynamoIpKeyStore(client, ipKeysTable)) } : {}),
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

/**
 * The send path as the recording functions see it (core/send): each recorded conversion is marked
 * with where it goes, and a job is put on the send queue. Undefined when the config sends nothing.
 */
export function sendsFor(config: TrackerConfig, queue: SendQueue | undefined): ConversionDeps['sends'] {
  if (!queue || !configSends(config)) return undefined;
  const indexed = sendConfig(config);
  return { mark: (conversion, type, now) => sendMark(conversion, type, indexed, now), enqueue: (job) => queue.enqueue(job) };
}

/** The dependencies every conversion-recording function shares. */
export function conversionDeps(
  config: TrackerConfig,
  stores: Pick<ConversionDeps, 'clicks' | 'types' | 'history'> & { conversions: DynamoConversionStore },
  deadLetters: ForwardDeps['deadLetters'],
  sendQueue?: SendQueue,
): ConversionDeps & { deadLetters: ForwardDeps['deadLetters'] } {
  const sends = sendsFor(config, sendQueue);
  return {
    ...stores,
    deadLetters,
    defaultCurrency: config.defaults.currency,
    ...(config.defaults.currencies ? { currencies: new Set(config.defaults.currencies) } : {}),
    ...(sends ? { sends } : {}),
  };
}

/**
 * The sender's dependencies (the sender function, the local run, the sweep and redrive CLIs):
 * send state and clicks on DynamoDB, the day keys that open sealed addresses, the platforms over
 * HTTP with the config's secrets.
 */
export function sendDeps(
  config: TrackerConfig,
  parts: {
    client: DynamoDBClient;
    tables: { clicks: string; conversions: string; ipKeys?: string };
    secrets: SecretSource;
    deadLetters: ForwardDeps['deadLetters'];
    queue?: SendQueue;
    http?: HttpClient;
  },
): SendDeps & { state: DynamoSendState } {
  const http = parts.http ?? new FetchHttpClient();
  return {
    config: sendConfig(config),
    state: new DynamoSendState(parts.client, parts.tables.conversions),
    clicks: new DynamoSendClicks(parts.client, parts.tables.clicks, parts.tables.conversions),
    ...(parts.tables.ipKeys ? { ipKeys: new IpKeyRing(new DynamoIpKeyStore(parts.client, parts.tables.ipKeys)) } : {}),
    http,
    secrets: parts.secrets,
    google: new GoogleTokens(http),
    ...(parts.queue ? { queue: parts.queue } : {}),
    deadLetters: parts.deadLetters,
    channel: new FetchChannelPostback(),
    log: logger,
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
    sendQueueFromEnv(env),
  );
}

/** The send queue named by SEND_QUEUE_URL (set only when the config sends anything). */
export function sendQueueFromEnv(env: NodeJS.ProcessEnv = process.env): SendQueue | undefined {
  const url = env[ENV.sendQueueUrl];
  return url ? new SqsSendQueue(url) : undefined;
}

/** The sender function's dependencies, and the day-key store its schedule maintains. */
export function senderDepsFromEnv(env: NodeJS.ProcessEnv = process.env): { deps: SendDeps; keys?: DynamoIpKeyStore } {
  const config = bundledConfig(env);
  // Nobody waits on the sender: its own, more patient budget (adapters/aws-clients CALL_BUDGETS.sender).
  const client = createDynamoClient(undefined, CALL_BUDGETS.sender);
  const ipKeys = env[TABLE_ENV.ipKeys];
  const deps = sendDeps(config, {
    client,
    tables: { clicks: requireEnv(TABLE_ENV.clicks, env), conversions: requireEnv(TABLE_ENV.conversions, env), ...(ipKeys ? { ipKeys } : {}) },
    secrets: new CachedSecretReader('aws', env),
    // Sends that run out of retries are queued uncapped, deduped by their fingerprint alone: no ledger.
    deadLetters: guardedDeadLetters(new SqsDeadLetterSink(requireEnv(ENV.deadLetterQueueUrl, env)), undefined, config),
    ...(env[ENV.sendQueueUrl] ? { queue: new SqsSendQueue(requireEnv(ENV.sendQueueUrl, env), undefined, CALL_BUDGETS.sender) } : {}),
  });
  return { deps, ...(ipKeys ? { keys: new DynamoIpKeyStore(client, ipKeys) } : {}) };
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
