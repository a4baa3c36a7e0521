import { allowedMs, withCallTimeout } from '../core/deadline';
import type { ChannelPostback, ChannelPostbackResult } from '../core/model';
import { CALL_BUDGETS } from './aws-clients';

/**
 * Time kept back from a forward for what must follow it within the request's deadline:
 * recording the outcome on the conversion (one DynamoDB call) and, when it failed, queueing
 * the retry (one SQS call). A forward cut off by the deadline would otherwise leave the
 * conversion "sending" with nothing queued.
 */
export const FORWARD_RESERVE_MS = CALL_BUDGETS.dynamodb.callTimeoutMs + CALL_BUDGETS.sqs.callTimeoutMs;

/** Errors (Node's and undici's codes) that mean no connection was made: nothing reached the channel. */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** Below this, an attempt is not started: it could not get an answer anyway. */
export const MIN_FORWARD_ATTEMPT_MS = 250;

/**
 * Calls a traffic channel's postback URL with Node's fetch and a hard timeout per attempt
 * (`timeoutMs`, shortened to what the request's deadline leaves after FORWARD_RESERVE_MS). 2xx
 * and 3xx count as delivered. A failure says whether the channel may have it anyway
 * (core/model ChannelDelivery): another status is `refused`; a connection that was never made
 * (refused, unknown host, unreachable, connect timeout) or no time to try is `not_sent`; a
 * timeout or a connection lost once the request may have gone out is `unknown`.
 */
export class FetchChannelPostback implements ChannelPostback {
  constructor(
    private readonly timeoutMs = 2000,
    private readonly reserveMs = FORWARD_RESERVE_MS,
  ) {}

  async send(url: string): Promise<ChannelPostbackResult> {
    const allowed = allowedMs(this.timeoutMs, this.reserveMs);
    if (allowed < MIN_FORWARD_ATTEMPT_MS) return { ok: false, delivery: 'not_sent', error: `not sent: only ${allowed} ms were left before the request's deadline` };
    try {
      const status = await withCallTimeout(
        'the traffic channel',
        this.timeoutMs,
        async (signal) => {
          const response = await fetch(url, { method: 'GET', redirect: 'manual', signal });
          // The body is read (and discarded) under the same timeout: a channel that trickles it is a timeout too.
          await response.arrayBuffer().catch(() => undefined);
          return response.status;
        },
        this.reserveMs,
      );
      if (status >= 200 && status < 400) return { ok: true, status };
      return { ok: false, delivery: 'refused', error: `HTTP ${status}` };
    } catch (err) {
      const e = err as Error & { cause?: { code?: unknown } };
      const code = typeof e.cause?.code === 'string' ? e.cause.code : undefined;
      if (e.name === 'TimeoutError') return { ok: false, delivery: 'unknown', error: e.message.replace(/^the traffic channel: /, '') };
      const error = `${e.name}: ${e.message}${code ? ` (${code})` : ''}`;
      return { ok: false, delivery: code !== undefined && NEVER_CONNECTED.has(code) ? 'not_sent' : 'unknown', error };
    }
  }
}
