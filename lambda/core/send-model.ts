/**
 * Sending recorded conversions on (issue 13): the records and ports of the send path. Plain
 * TypeScript; the adapters implement the ports (DynamoDB state, SQS or in-process job queue,
 * HTTP, secrets).
 */
import type { SecretRef } from '../../config/schema';
import type { ClickRecord, ConversionRecord } from './model';
import type { SendTarget } from './platforms';

/** A job on the send queue: which conversion. Nothing else travels (no token, no address). */
export interface SendJob {
  clickId: string;
  conversionKey: string;
  /** How many tries were made before this job (0 for the first). */
  attempt?: number;
}

/** Forward states of a conversion item (the `forwardState` attribute). */
export type ForwardState = 'pending' | 'sending' | 'sent' | 'failed' | 'skipped';

/** A conversion as the send path reads it: the record and its send attributes. */
export interface SendConversion extends ConversionRecord {
  /** Where it goes: set when it was recorded. */
  forwardTo?: SendTarget;
  forwardState?: ForwardState;
  forwardAttempts?: number;
  forwardError?: string;
  /** Present while a send is outstanding (the sparse bySend index): the target, and when it is due. */
  sendQueue?: SendTarget;
  sendDue?: string;
  /** The consent t.js recorded for the click, copied when the conversion was recorded. */
  consent?: string;
}

/**
 * The click as the send path reads it: the stored record plus what t.js (issue 12) may add —
 * `fbp`/`fbc` (Meta's cookies), `page` (the lander URL), `consent` (absent: not required or
 * given; otherwise a send needs `granted`).
 */
export type SendClick = ClickRecord & { fbp?: string; fbc?: string; page?: string; consent?: string };

/** What a platform's answer (or the lack of one) means for the conversion. */
export type SendOutcome =
  /** Accepted. `answer`: what the platform said, for trace. */
  | { kind: 'sent'; answer: string }
  /** Not sent, on purpose, and never will be (too old, no consent, no click id). */
  | { kind: 'skipped'; reason: string }
  /** Refused for good: the platform's message. Never retried by itself. */
  | { kind: 'failed'; reason: string; answer?: string }
  /** Throttled, a platform error, no answer, or a fixable setup problem (token): retried with backoff, then the dead-letter queue. */
  | { kind: 'retry'; reason: string; answer?: string }
  /** Not yet: Google's 6-hour rule. Due again at `until`. */
  | { kind: 'later'; until: Date; reason: string };

/** One HTTP request to a platform (tokens only in headers and body, never in the URL). */
export interface HttpRequest {
  method: 'POST';
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Per attempt. */
  timeoutMs: number;
}

export type HttpAnswer = { status: number; body: string } | { error: string; timedOut: boolean };

export interface HttpClient {
  request(request: HttpRequest): Promise<HttpAnswer>;
}

/** Reads the config's secret references (Secrets Manager / SSM in AWS, env locally). */
export interface SecretSource {
  read(ref: SecretRef): Promise<string | undefined>;
}

/** The send state on the conversion item, claimed before every call. */
export interface SendStateStore {
  get(clickId: string, conversionKey: string): Promise<SendConversion | undefined>;
  /**
   * Claims the send: from `new` (never tried), `pending` (due again), `failed` (a redrive) or
   * `stale` (a `sending` claim whose lease ran out: its sender died; only for idempotent
   * platforms). Returns the claim's token, or undefined when another holds it or it is done. A
   * claim whose answer was lost is recognised by its token. `dropFromIndex`: the claim ends the
   * conversion's time in the due index (the generic postback: never retried by itself).
   */
  claim(
    clickId: string,
    conversionKey: string,
    options: { from: readonly ('new' | 'pending' | 'failed' | 'stale')[]; at: string; leaseUntil: string; dropFromIndex: boolean },
  ): Promise<string | undefined>;
  /** Ends a claimed send; a no-op when the claim was taken over meanwhile. */
  finish(
    clickId: string,
    conversionKey: string,
    token: string,
    result: { state: 'sent' | 'failed' | 'skipped'; at: string; error?: string; request?: string; answer?: string },
  ): Promise<void>;
  /** Gives a claimed send back as `pending`, due again at `due`. */
  release(
    clickId: string,
    conversionKey: string,
    token: string,
    result: { due: string; attempts: number; error: string; request?: string; answer?: string },
  ): Promise<void>;
  /**
   * One page of the conversions in the due index for `queue` with `sendDue <= until`, oldest
   * first, as the index projects them (no buyer data, no subs); `cursor` continues a read.
   */
  due(queue: SendTarget, until: string, limit: number, cursor?: string): Promise<{ items: DueSend[]; cursor?: string }>;
}

/** A conversion as the due index holds it: what a Google upload needs, without a read of the item. */
export type DueSend = SendConversion & { sendDue: string };

/** The click side of a send: what the conversion APIs need, and removing the address after. */
export interface SendClicks {
  getClick(clickId: string): Promise<SendClick | undefined>;
  /**
   * Removes the sealed address from the click when none of its conversions still waits for a
   * Meta or TikTok send. Returns whether it removed one.
   */
  dropSealedIpIfDone(clickId: string): Promise<boolean>;
}

/** Puts send jobs on the queue (SQS in AWS; in-process locally), optionally delayed. */
export interface SendQueue {
  enqueue(job: SendJob, delaySeconds?: number): Promise<void>;
}
