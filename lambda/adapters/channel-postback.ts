import { allowedMs, withCallTimeout } from '../core/deadline';
import type { ChannelPostback } from '../core/model';
import { CALL_BUDGETS } from './aws-clients';

/**
 * Time kept back from a forward for what must follow it within the request's deadline:
 * recording the outcome on the conversion (one DynamoDB call) and, when it failed, queueing
 * the retry (one SQS call). A forward cut off by the deadline would otherwise leave the
 * conversion "sending" with nothing queued.
 */
export const FORWARD_RESERVE_MS = CALL_BUDGETS.dynamodb.callTimeoutMs + CALL_BUDGETS.sqs.callTimeoutMs;

/** Below this, an attempt is not started: it could not get an answer anyway. */
export const MIN_FORWARD_ATTEMPT_MS = 250;

/**
 * Calls a traffic channel's postback URL with Node's fetch and a hard timeout per attempt
 * (`timeoutMs`, shortened to what the request's deadline leaves after FORWARD_RESERVE_MS). 2xx
 * and 3xx count as delivered; anything else, a timeout or a network error is a failure.
 */
export class FetchChannelPostback implements ChannelPostback {
  constructor(
    private readonly timeoutMs = 2000,
    private readonly reserveMs = FORWARD_RESERVE_MS,
  ) {}

  async send(url: string): Promise<{ ok: true; status: number } | { ok: false; error: string }> {
    const allowed = allowedMs(this.timeoutMs, this.reserveMs);
    if (allowed < MIN_FORWARD_ATTEMPT_MS) return { ok: false, error: `not sent: only ${allowed} ms were left before the request's deadline` };
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
      return { ok: false, error: `HTTP ${status}` };
    } catch (err) {
      const e = err as Error;
      return { ok: false, error: e.name === 'TimeoutError' ? e.message.replace(/^the traffic channel: /, '') : `${e.name}: ${e.message}` };
    }
  }
}
