/**
 * What the stack and the functions agree on: environment variable names, the origin-verify
 * header and the routes. Pure constants, imported by lib/ (to set them) and lambda/ (to read
 * them), so a rename cannot leave the two sides out of step.
 */
export { TABLE_ENV } from './adapters/table-definitions';

export const ENV = {
  /** URL of the SQS dead-letter queue. */
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  /** Path of the validated tracker config (JSON) shipped in the function bundle. */
  trackerConfig: 'TRACKER_CONFIG',
  /** Secret CloudFront sends in ORIGIN_VERIFY_HEADER; when set, requests without it get 403. */
  originVerifySecret: 'ORIGIN_VERIFY_SECRET',
  /** ARN of the Secrets Manager secret the stack generated for `{ generated: true }` postback keys (the ARN, not the value). */
  postbackKeySecretArn: 'POSTBACK_KEY_SECRET_ARN',
} as const;

/** Header CloudFront adds to every origin request; proves the request came through the distribution. */
export const ORIGIN_VERIFY_HEADER = 'x-clickvault-origin-verify';

/** File name of the config JSON inside each function bundle. */
export const BUNDLED_CONFIG_FILE = 'tracker-config.json';

export const ROUTES = {
  click: 'GET /click/{campaignId}',
  /** A HEAD is recorded as a bot click (link checkers, previewers), answered like a GET without body. */
  clickHead: 'HEAD /click/{campaignId}',
  /** The lander's call to action: records the lander click, redirects to the offer. */
  landerClick: 'GET /go',
  landerClickHead: 'HEAD /go',
  /** The direct-tracking script for landers; the only cacheable answer. */
  script: 'GET /t.js',
  scriptHead: 'HEAD /t.js',
  postbackGet: 'GET /postback',
  postbackPost: 'POST /postback',
  postbackKeyGet: 'GET /postback/{key}',
  postbackKeyPost: 'POST /postback/{key}',
  ipn: 'POST /ipn/digistore24',
  /** Digistore24 checks an IPN URL with a GET (setup, ipnSetup API) and wants 200. */
  ipnCheck: 'GET /ipn/digistore24',
  ipnCheckHead: 'HEAD /ipn/digistore24',
} as const;

/**
 * The dead-letter archiver (lambda/handlers/archive-dead-letters.ts): a scheduled function that
 * moves queue messages older than core/archive ARCHIVE_AFTER_DAYS (10) into the archive table
 * before SQS's 14-day retention can drop them. Hourly, so a few failed runs still leave days to
 * spare; it stops starting new messages at its deadline, well inside its timeout.
 */
export const ARCHIVER = {
  everyHours: 1,
  timeoutSeconds: 300,
  deadlineSeconds: 240,
  /** How long what it reads stays hidden from other readers (longer than its timeout). */
  visibilitySeconds: 360,
} as const;
