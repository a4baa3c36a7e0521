import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One Powertools Logger for every function: structured JSON, one line per outcome, each with a
 * click id or request id. Level from POWERTOOLS_LOG_LEVEL; service from POWERTOOLS_SERVICE_NAME.
 * Never log secrets, and no visitor IP: it is stored (per config) but not logged.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'clickvault' });
