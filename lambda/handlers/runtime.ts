/**
 * Builds each function's dependencies from its environment, once per process: the config the
 * stack shipped in the bundle, DynamoDB adapters on the named tables, the SQS dead-letter sink.
 */
import { loadConfig } from '../../config/load';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, createDynamoClient } from '../adapters/dynamodb-store';
import { SqsDeadLetterSink } from '../adapters/sqs-dead-letter';
import { ENV, TABLE_ENV } from '../contract';
import type { ClickDeps } from '../core/click';
import type { DeadLetterSink } from '../core/model';
import type { PostbackDeps } from '../core/postback';
import type { IpnDeps } from '../core/ipn';
import { CachedSecretReader, type SecretReader } from '../adapters/secrets';
import { createProtection, type AuthResult } from '../core/protection';
import type { PostbackProtection } from '../../config/schema';
import { compileConfig } from '../core/tracker-config';
import { logger } from '../logger';

/** A required environment variable; a missing one is a deployment bug, so fail loudly. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

export function originSecretFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[ENV.originVerifySecret] || undefined;
}

function deadLettersFromEnv(env: NodeJS.ProcessEnv): () => DeadLetterSink {
  const sink = new SqsDeadLetterSink(requireEnv(ENV.deadLetterQueueUrl, env));
  return () => sink;
}

export function clickDepsFromEnv(env: NodeJS.ProcessEnv = process.env): ClickDeps {
  const client = createDynamoClient();
  return {
    config: compileConfig(loadConfig(requireEnv(ENV.trackerConfig, env))),
    clicks: new DynamoClickStore(client, requireEnv(TABLE_ENV.clicks, env)),
    deadLetters: deadLettersFromEnv(env),
    log: logger,
  };
}

export function postbackDepsFromEnv(env: NodeJS.ProcessEnv = process.env): PostbackDeps {
  const client = createDynamoClient();
  const config = loadConfig(requireEnv(ENV.trackerConfig, env));
  return {
    clicks: new DynamoClickStore(client, requireEnv(TABLE_ENV.clicks, env)),
    conversions: new DynamoConversionStore(client, requireEnv(TABLE_ENV.conversions, env)),
    types: new DynamoConversionTypes(client, requireEnv(TABLE_ENV.conversionTypes, env)),
    deadLetters: deadLettersFromEnv(env),
    defaultCurrency: config.defaults.currency,
  };
}

/** The IPN function's dependencies; undefined when the config has no digistore24.ipn section. */
export function ipnDepsFromEnv(env: NodeJS.ProcessEnv = process.env): IpnDeps | undefined {
  const config = loadConfig(requireEnv(ENV.trackerConfig, env));
  const ipn = config.digistore24?.ipn;
  if (!ipn) return undefined;
  const client = createDynamoClient();
  const secrets = new CachedSecretReader('aws', env);
  return {
    ipn,
    passphrase: () => secrets.read(ipn.passphrase),
    clicks: new DynamoClickStore(client, requireEnv(TABLE_ENV.clicks, env)),
    conversions: new DynamoConversionStore(client, requireEnv(TABLE_ENV.conversions, env)),
    types: new DynamoConversionTypes(client, requireEnv(TABLE_ENV.conversionTypes, env)),
    deadLetters: deadLettersFromEnv(env),
    defaultCurrency: config.defaults.currency,
  };
}

/** Binds the config's postback protection to a secret reader. */
export function postbackAuth(
  protection: PostbackProtection | undefined,
  secrets: SecretReader,
): { authenticate?: (key: string | undefined, ip: string | undefined) => Promise<AuthResult> } {
  if (!protection) return {};
  return {
    authenticate: createProtection({
      required: protection.required,
      sources: protection.sources.map((source) => ({
        id: source.id,
        keys: () => Promise.all(source.keys.map((ref) => secrets.read(ref))),
        ...(source.allowedIps ? { allowedIps: source.allowedIps } : {}),
      })),
    }),
  };
}

export function postbackAuthFromEnv(env: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig(requireEnv(ENV.trackerConfig, env));
  return postbackAuth(config.postbackProtection, new CachedSecretReader('aws', env));
}
