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
  /** The tracking domain (`trk.example.com`) when the stack knows it, for the dashboard's setup URLs. */
  trackingHost: 'TRACKING_HOST',
  /** URL of the SQS queue of send jobs (conversion APIs, channel postbacks); set when the config sends anything. */
  sendQueueUrl: 'SEND_QUEUE_URL',
} as const;

/**
 * Each handler's overall deadline in ms (lambda/handlers/deadline.ts): by then it has answered,
 * and every call it started has been aborted. Each sits below its function's timeout
 * (lib/clickvault-stack.ts FUNCTION_SIZING, lib/conversion-types.ts; checked at synth).
 * - click 1.2 s: its one write may take 600 ms, the fallback to the queue gets the rest, and
 *   the visitor is redirected within 1.5 s even when DynamoDB and SQS both hang;
 * - lander click (/go) 2 s: the update's 600 ms, the dead-letter guard, then the queue, so a
 *   hanging DynamoDB still keeps the lander click; the visitor is redirected within 2.5 s;
 * - t.js 1 s: a constant, no outside call;
 * - postback and IPN 8 s: room for a slow traffic channel (2 s per attempt, 2 attempts);
 *   with DynamoDB hanging they answer in about 1.5 s, bounded by the calls' own budgets;
 * - the deploy-time conversion-types sync 100 s;
 * - the hourly dead-letter archiver 270 s (ARCHIVER.timeoutSeconds 300): it starts no new
 *   message in the last ARCHIVER.finishMs (30 s) before it, so the one being moved finishes.
 */
export const HANDLER_DEADLINE_MS = {
  click: 1200,
  /**
   * GET /go: its update may take 600 ms, then a lander click of a click not stored goes through
   * the dead-letter guard (ledger calls of 500 ms each when DynamoDB hangs) to the queue.
   */
  lander: 2000,
  /** GET /t.js: a constant answer, no outside call. */
  script: 1000,
  postback: 8000,
  ipn: 8000,
  syncConversionTypes: 100_000,
  archiveDeadLetters: 270_000,
  /** The rollup upkeep (lib/rollup-upkeep ROLLUP_SCHEDULE.upkeepTimeout 120 s); it stops its work UPKEEP_SAFETY_MS before. */
  rollupUpkeep: 100_000,
  /** The clicks-stream marker (ROLLUP_SCHEDULE.markerTimeout 30 s): a batch of idempotent puts. */
  rollupMarker: 20_000,
  /** The silent-breakage check (lib/silence-alarm.ts SILENCE_SCHEDULE.timeout 60 s): reads a few hours of each campaign. */
  silenceCheck: 45_000,
  /** The dashboard API (lib/dashboard-api.ts, 29 s timeout: API Gateway's own limit is 30 s). */
  dashboardApi: 25_000,
  /** The sender (send jobs and the hourly sweep; lib/conversion-sender.ts, 5-minute timeout). */
  sender: 270_000,
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
 * The dashboard's API (lambda/handlers/dashboard-api.ts): read-only routes behind the Cognito
 * JWT authorizer in AWS (lib/dashboard-auth.ts), behind the Host check locally. Kept apart from
 * ROUTES, whose routes are public by design.
 */
export const DASHBOARD_API_ROUTES = {
  report: 'GET /api/report',
  inbound: 'GET /api/inbound',
  trace: 'GET /api/trace/{clickId}',
  dlq: 'GET /api/dlq',
  setup: 'GET /api/setup',
  /** Campaigns silent now (clicks, no conversion for hours: core/silence), for the campaign table's warning. */
  alerts: 'GET /api/alerts',
} as const;

/** Where the dashboard's static files are served (CloudFront behaviour, local server). */
export const DASHBOARD_PATH = '/dashboard/';

/**
 * The dashboard's Content Security Policy (CloudFront's response headers policy in AWS, the local
 * server's headers): scripts and styles only from the page's own origin (no inline script, no
 * eval), data only from its own API and, with a login, the user pool's token endpoint.
 */
export function dashboardCsp(authOrigin?: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${authOrigin ? ` ${authOrigin}` : ''}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

/**
 * The dead-letter archiver (lambda/handlers/archive-dead-letters.ts): a scheduled function that
 * moves queue messages older than core/archive ARCHIVE_AFTER_DAYS (10) into the archive table
 * before SQS's 14-day retention can drop them. Hourly, so a few failed runs still leave days to
 * spare. Its deadline is HANDLER_DEADLINE_MS.archiveDeadLetters (every call aborted by then);
 * it starts no new message in the last `finishMs` before it, well inside its timeout.
 */
export const ARCHIVER = {
  everyHours: 1,
  timeoutSeconds: 300,
  /** Kept at the end of the deadline for the message being moved: no new one is started then. */
  finishMs: 30_000,
  /** How long what it reads stays hidden from other readers (longer than its timeout). */
  visibilitySeconds: 360,
} as const;
