/**
 * Replaying the dead-letter queue: each message runs again through the same core that first
 * handled it. Success (recorded, duplicate, or now a deliberate no-op) removes it; a failure
 * keeps it with one more attempt and the new reason. Every write is idempotent, so replaying
 * twice changes nothing.
 */
import type { ClickStore, LanderClickStore, DeadLetterMessage, DeadLetterReason, DeadLetterSink, ReceivedMessage, DeadLetterQueue } from './model';
import { errorText, type ConversionDeps } from './conversion';
import { handlePostback } from './postback';
import { handleIpn, type IpnDeps } from './ipn';
import { sendForward, type ForwardDeps } from './forward';

export interface ReplayDeps extends ConversionDeps {
  clickStore: ClickStore & LanderClickStore;
  /** IPN settings; undefined when the config has no IPN (queued IPNs then stay queued). */
  ipn?: Pick<IpnDeps, 'ipn'>['ipn'];
  /** Retrying queued forwards; undefined: forward messages stay queued. */
  forwarding?: Omit<ForwardDeps, 'deadLetters'>;
}

export type ReplayResult =
  | { done: true; outcome: string }
  | { done: false; reason: DeadLetterReason | 'invalid_input' | 'not_configured'; detail: string };

/** A sink that keeps what the core would have queued, instead of queueing it again. */
class CapturingSink implements DeadLetterSink {
  captured?: DeadLetterMessage;
  async send(message: DeadLetterMessage): Promise<void> {
    this.captured = message;
  }
}

export async function replayMessage(message: DeadLetterMessage, deps: ReplayDeps): Promise<ReplayResult> {
  const sink = new CapturingSink();
  const failedAgain = (fallback: string): ReplayResult =>
    sink.captured ? { done: false, reason: sink.captured.reason, detail: sink.captured.detail } : { done: false, reason: 'storage_error', detail: fallback };
  const receivedAt = new Date(message.receivedAt);

  switch (message.kind) {
    case 'click': {
      if (!message.click) return { done: false, reason: 'invalid_input', detail: 'the message holds no click' };
      try {
        const stored = await deps.clickStore.putClick(message.click);
        return { done: true, outcome: stored === 'duplicate' ? 'click already stored' : 'click stored' };
      } catch (err) {
        return { done: false, reason: 'storage_error', detail: `click could not be stored: ${errorText(err)}` };
      }
    }
    case 'lander_click': {
      if (!message.landerClick) return { done: false, reason: 'invalid_input', detail: 'the message holds no lander click' };
      try {
        // The same conditional update as GET /go, with the offer and time chosen then.
        const result = await deps.clickStore.recordLanderClick(message.landerClick);
        if (result.status === 'not_found') return { done: false, reason: 'unknown_click', detail: `click ${message.landerClick.clickId} is not stored (yet)` };
        return { done: true, outcome: result.status === 'recorded' ? 'lander click recorded' : 'lander click already recorded' };
      } catch (err) {
        return { done: false, reason: 'storage_error', detail: `lander click could not be stored: ${errorText(err)}` };
      }
    }
    case 'postback': {
      const outcome = await handlePostback(
        { request: message.request, now: receivedAt, eventId: message.id, ...(message.pixelWithoutKey ? { pixelWithoutKey: true } : {}) },
        { ...deps, deadLetters: () => sink },
      );
      switch (outcome.status) {
        case 'recorded':
        case 'duplicate':
        case 'test':
          return { done: true, outcome: outcome.status };
        case 'rejected':
        case 'forbidden':
          return { done: false, reason: 'invalid_input', detail: outcome.message };
        case 'queued':
        case 'unavailable':
          return failedAgain(outcome.message);
      }
      break;
    }
    case 'forward': {
      if (!message.forward) return { done: false, reason: 'invalid_input', detail: 'the message holds no forward' };
      if (!deps.forwarding) return { done: false, reason: 'not_configured', detail: 'forwarding is not set up for this replay' };
      let result;
      try {
        result = await sendForward(message.forward, 'failed', new Date(), { ...deps.forwarding, deadLetters: () => sink });
      } catch (err) {
        return { done: false, reason: 'storage_error', detail: `the forward state could not be updated: ${errorText(err)}` };
      }
      if (result.status === 'sent') return { done: true, outcome: 'forwarded' };
      if (result.status === 'already_claimed') return { done: true, outcome: 'already forwarded or in flight' };
      return { done: false, reason: 'forward_failed', detail: result.detail };
    }
    case 'ipn': {
      if (!deps.ipn) return { done: false, reason: 'not_configured', detail: 'the config has no digistore24.ipn section' };
      const outcome = await handleIpn(
        { request: message.request, now: receivedAt, trusted: true, eventId: message.id },
        { ...deps, ipn: deps.ipn, passphrase: async () => undefined, deadLetters: () => sink },
      );
      if (outcome.status === 'queued' || outcome.status === 'unavailable') return failedAgain(outcome.message);
      if (outcome.httpStatus !== 200) return { done: false, reason: 'invalid_input', detail: outcome.message };
      return { done: true, outcome: outcome.status };
    }
  }
  return { done: false, reason: 'invalid_input', detail: `unknown message kind "${String((message as { kind: unknown }).kind)}"` };
}

export interface RedriveOptions {
  limit: number;
  dryRun: boolean;
  /** Only replay messages queued for this reason. */
  reason?: string;
  now?: () => Date;
  onProgress?: (received: ReceivedMessage, result: ReplayResult | 'skipped') => void;
}

export interface RedriveSummary {
  received: number;
  replayed: number;
  outcomes: Record<string, number>;
  stillFailing: Record<string, number>;
  skipped: number;
  dryRun: boolean;
}

/**
 * Drains up to `limit` messages. In a dry run nothing is written: every message is evaluated
 * against read-only stores (`deps` must then be built read-only by the caller) and released.
 */
export async function redrive(queue: DeadLetterQueue, deps: ReplayDeps, options: RedriveOptions): Promise<RedriveSummary> {
  const summary: RedriveSummary = { received: 0, replayed: 0, outcomes: {}, stillFailing: {}, skipped: 0, dryRun: options.dryRun };
  // Clicks first: a queued postback or lander click often names a click that is itself waiting
  // in the queue.
  const batch = (await queue.receive(options.limit)).sort((a, b) => Number(b.message.kind === 'click') - Number(a.message.kind === 'click'));
  summary.received = batch.length;
  for (const received of batch) {
    const { message } = received;
    if (options.reason !== undefined && message.reason !== options.reason) {
      summary.skipped++;
      await queue.release(received.handle);
      options.onProgress?.(received, 'skipped');
      continue;
    }
    const result = await replayMessage(message, deps);
    options.onProgress?.(received, result);
    if (result.done) {
      summary.replayed++;
      summary.outcomes[result.outcome] = (summary.outcomes[result.outcome] ?? 0) + 1;
      if (options.dryRun) await queue.release(received.handle);
      else await queue.remove(received.handle);
    } else {
      summary.stillFailing[result.reason] = (summary.stillFailing[result.reason] ?? 0) + 1;
      if (options.dryRun) await queue.release(received.handle);
      else {
        await queue.replace(received.handle, {
          ...message,
          reason: result.reason === 'invalid_input' || result.reason === 'not_configured' ? message.reason : result.reason,
          detail: result.detail,
          attempts: (message.attempts ?? 0) + 1,
          lastAttemptAt: (options.now ?? (() => new Date()))().toISOString(),
        });
      }
    }
  }
  return summary;
}
