/**
 * The price table `npm run cost` uses: us-east-1, on-demand, list prices, as published on the
 * services' pricing pages on the date below. Check them before quoting; a change is one edit.
 */
export const PRICES_DATE = '2026-11-25';

export interface Price {
  usd: number;
  per: string;
  source: string;
}

export const PRICES = {
  cloudFrontHttpsRequests: { usd: 0.01 / 10_000, per: 'HTTPS request (North America/Europe)', source: 'https://aws.amazon.com/cloudfront/pricing/' },
  cloudFrontDataOut: { usd: 0.085, per: 'GB to viewers (first 10 TB, North America/Europe)', source: 'https://aws.amazon.com/cloudfront/pricing/' },
  cloudFrontToOrigin: { usd: 0.02, per: 'GB to origin (North America/Europe)', source: 'https://aws.amazon.com/cloudfront/pricing/' },
  httpApiRequests: { usd: 1.0 / 1_000_000, per: 'HTTP API request (first 300 million/month)', source: 'https://aws.amazon.com/api-gateway/pricing/' },
  restApiRequests: { usd: 3.5 / 1_000_000, per: 'REST API request (first 333 million/month)', source: 'https://aws.amazon.com/api-gateway/pricing/' },
  lambdaRequests: { usd: 0.2 / 1_000_000, per: 'invocation', source: 'https://aws.amazon.com/lambda/pricing/' },
  lambdaArmGbSecond: { usd: 0.0000133334, per: 'GB-second, arm64', source: 'https://aws.amazon.com/lambda/pricing/' },
  lambdaX86GbSecond: { usd: 0.0000166667, per: 'GB-second, x86_64', source: 'https://aws.amazon.com/lambda/pricing/' },
  dynamoWriteUnit: { usd: 0.625 / 1_000_000, per: 'on-demand write request unit (1 KB)', source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/' },
  dynamoReadUnit: { usd: 0.125 / 1_000_000, per: 'on-demand read request unit (4 KB strongly consistent)', source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/' },
  logsIngestStandard: { usd: 0.5, per: 'GB ingested, Standard log class', source: 'https://aws.amazon.com/cloudwatch/pricing/' },
  logsIngestInfrequent: { usd: 0.25, per: 'GB ingested, Infrequent Access log class', source: 'https://aws.amazon.com/cloudwatch/pricing/' },
  sqsRequests: { usd: 0.4 / 1_000_000, per: 'SQS standard request (64 KB chunk)', source: 'https://aws.amazon.com/sqs/pricing/' },
  cloudWatchAlarm: { usd: 0.1, per: 'standard-resolution alarm (one metric) per month', source: 'https://aws.amazon.com/cloudwatch/pricing/' },
  cloudWatchMetric: { usd: 0.3, per: 'custom metric per month (first 10,000; prorated by the hour it receives data)', source: 'https://aws.amazon.com/cloudwatch/pricing/' },
} satisfies Record<string, Price>;

/** A hosted tracker's published overage, for comparison (from shared/reference, peers). */
export const HOSTED_OVERAGE = { name: 'Voluum', usdPerThousandEvents: 0.04, source: 'Voluum pricing: $0.04 per 1,000 events above plan' };
