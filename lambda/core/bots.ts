/**
 * Clean traffic: which requests are bots, and which are browser prefetches.
 *
 * The user-agent check uses `isbot`, a maintained list of crawler, link-previewer and tool
 * patterns (facebookexternalhit, Slackbot, WhatsApp, Googlebot, curl, HeadlessChrome, Node's
 * fetch...) rather than a list of our own. A HEAD request is no visit either. A request without
 * a user agent is NOT flagged for that alone: some privacy tools strip it from real people.
 */
import { isbot } from 'isbot';
import type { BotReason } from './model';

// The list is one large regular expression compiled on first use (~12 ms): do it at start-up,
// not in a visitor's request.
isbot('Mozilla/5.0');

export interface BotVerdict {
  bot: true;
  reason: BotReason;
}

/** Whether a request is a bot, and why; undefined for a (presumed) person. */
export function botVerdict(method: string, userAgent: string | undefined): BotVerdict | undefined {
  if (method.toUpperCase() === 'HEAD') return { bot: true, reason: 'head' };
  if (userAgent !== undefined && userAgent.trim() !== '' && isbot(userAgent)) return { bot: true, reason: 'user_agent' };
  return undefined;
}

/**
 * A speculative load (`Sec-Purpose: prefetch`, also `prefetch;prerender` and
 * `prefetch;anonymous-client-ip`): the browser may never show the page. It is answered 503
 * no-store and records nothing, so the real navigation makes the click.
 */
export function isPrefetch(secPurpose: string | undefined): boolean {
  return secPurpose !== undefined && /^\s*prefetch\s*(;|$)/i.test(secPurpose);
}
