import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type { Construct } from 'constructs';
import type { TrackerConfig } from '../config/schema';
import { ENV, ORIGIN_VERIFY_HEADER, ROUTES, TABLE_ENV } from '../lambda/contract';
import { writeBundledConfig } from './bundled-config';
import { ConversionTypes } from './conversion-types';
import { DeadLetterQueue } from './dead-letter-queue';
import { OriginVerifySecret } from './origin-verify';
import type { TrackerSettings } from './settings';
import { TrackerApi } from './tracker-api';
import { TrackerDistribution } from './tracker-distribution';
import { TrackerFunction } from './tracker-function';
import { TrackerTables } from './tracker-tables';
import { TrackingDomain } from './tracking-domain';
import { clickUrlPattern, digistore24PixelUrl, digistore24PostbackUrl } from './tracker-urls';

export const HANDLER_ENTRIES = {
  click: 'lambda/handlers/click.ts',
  postback: 'lambda/handlers/postback.ts',
} as const;

/**
 * Memory and timeout per function. Placeholders until the benchmark issue measures them:
 * the click path does one PutItem and answers a redirect; the postback path does up to two
 * GetItems and a conditional PutItem, so it gets more time for DynamoDB retries.
 */
export const FUNCTION_SIZING = {
  click: { memorySize: 256, timeout: Duration.seconds(5) },
  postback: { memorySize: 256, timeout: Duration.seconds(10) },
} as const;

export interface ClickvaultStackProps extends StackProps {
  readonly settings: TrackerSettings;
  /** The validated tracker config (loaded by the app with loadConfig()). */
  readonly config: TrackerConfig;
  /**
   * The CloudFront certificate when it lives in another stack (us-east-1 certificate stack).
   * @default - from settings: certificateArn, or created in this stack
   */
  readonly certificate?: acm.ICertificate;
}

/** Everything a running tracker needs, in one deployable stack. */
export class ClickvaultStack extends Stack {
  readonly tables: TrackerTables;
  readonly deadLetters: DeadLetterQueue;
  readonly clickFunction: TrackerFunction;
  readonly postbackFunction: TrackerFunction;
  readonly api: TrackerApi;
  readonly cdn: TrackerDistribution;
  readonly domain?: TrackingDomain;
  /** The host the tracker answers on (custom domain or *.cloudfront.net). */
  readonly trackingHost: string;

  constructor(scope: Construct, id: string, props: ClickvaultStackProps) {
    super(scope, id, {
      description: 'Clickvault: self-hosted click and conversion tracker (CloudFront, HTTP API, Lambda, DynamoDB)',
      ...props,
    });
    const { settings, config } = props;
    const common = { logRetention: settings.logRetention, logLevel: settings.logLevel, tracing: settings.tracing };

    this.tables = new TrackerTables(this, 'Tables');
    this.deadLetters = new DeadLetterQueue(this, 'DeadLetters', { alarmEmail: settings.alarmEmail });
    const originVerify = new OriginVerifySecret(this, 'OriginVerify');
    const configFile = writeBundledConfig(config);
    const originEnv = { [ENV.originVerifySecret]: originVerify.headerValue };

    this.clickFunction = new TrackerFunction(this, 'ClickFunction', {
      entry: HANDLER_ENTRIES.click,
      description: 'Clickvault: GET /click/{campaignId} - records the click and redirects to the offer',
      ...FUNCTION_SIZING.click,
      ...common,
      configFile,
      environment: originEnv,
    })
      .useTable(this.tables.clicks, TABLE_ENV.clicks, ['dynamodb:PutItem'])
      .useDeadLetterQueue(this.deadLetters.queue);

    this.postbackFunction = new TrackerFunction(this, 'PostbackFunction', {
      entry: HANDLER_ENTRIES.postback,
      description: 'Clickvault: GET/POST /postback - records conversions from Digistore24 and the order-form pixel',
      ...FUNCTION_SIZING.postback,
      ...common,
      configFile,
      environment: originEnv,
    })
      .useTable(this.tables.clicks, TABLE_ENV.clicks, ['dynamodb:GetItem'])
      .useTable(this.tables.conversionTypes, TABLE_ENV.conversionTypes, ['dynamodb:GetItem'])
      .useTable(this.tables.conversions, TABLE_ENV.conversions, ['dynamodb:PutItem'])
      .useDeadLetterQueue(this.deadLetters.queue);

    this.api = new TrackerApi(this, 'Api', {
      routes: {
        [ROUTES.click]: this.clickFunction,
        [ROUTES.postbackGet]: this.postbackFunction,
        [ROUTES.postbackPost]: this.postbackFunction,
      },
      throttle: settings.throttle,
      logRetention: settings.logRetention,
    });

    if (settings.domain) {
      this.domain = new TrackingDomain(this, 'Domain', { domain: settings.domain, certificate: props.certificate });
    }

    this.cdn = new TrackerDistribution(this, 'Cdn', {
      originDomainName: this.api.originDomainName,
      originVerifyHeader: { name: ORIGIN_VERIFY_HEADER, value: originVerify.headerValue },
      domain: this.domain ? { domainName: this.domain.domainName, certificate: this.domain.certificate } : undefined,
      webAclArn: settings.webAclArn,
    });
    this.domain?.addAliasRecords(this.cdn.distribution);

    new ConversionTypes(this, 'ConversionTypes', {
      table: this.tables.conversionTypes,
      types: config.conversionTypes,
      ...common,
    });

    this.trackingHost = this.domain?.domainName ?? this.cdn.distribution.distributionDomainName;
    this.addOutputs();
  }

  private addOutputs(): void {
    const host = this.trackingHost;
    const out = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    out('TrackingHost', host, 'Host name the tracker answers on');
    out(
      'ClickUrlPattern',
      clickUrlPattern(host),
      'Ad destination URL: replace <campaignId> with a campaign id from the config; the channel click id ' +
        '(e.g. fbclid) and sub1..sub20 may be added as query parameters',
    );
    out(
      'Digistore24PostbackUrl',
      digistore24PostbackUrl(host),
      'Paste into Digistore24 S2S postback and append ONE macro for the conversion type, e.g. {transaction_type}',
    );
    out(
      'Digistore24OrderFormPixelUrl',
      digistore24PixelUrl(host),
      'Order-form tracking pixel (InitiateCheckout); Digistore24 replaces __cid__',
    );
    out('DistributionDomainName', this.cdn.distribution.distributionDomainName, 'CloudFront domain (the alias records point here)');
    out('DeadLetterQueueUrl', this.deadLetters.queue.queueUrl, 'Requests that could not be stored; inspect with npm run dlq');
    out('ClicksTableName', this.tables.clicks.tableName, 'DynamoDB table of clicks (retained on stack delete)');
    out('ConversionsTableName', this.tables.conversions.tableName, 'DynamoDB table of conversions (retained on stack delete)');
    out('ConversionTypesTableName', this.tables.conversionTypes.tableName, 'DynamoDB table of conversion types (synced from the config)');
  }
}
