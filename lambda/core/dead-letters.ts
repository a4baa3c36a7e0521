/**
 * The dead-letter guard: what keeps the queue honest under a flood, without ever losing a real
 * failure.
 *
 * - **Dedupe.** A failure's identity (core callers build it with `fingerprintOf`) is claimed in
 *   the ledger before its message is queued; while that message waits, the same failing
 *   request again is answered as a duplicate of it and queues nothing. A redrive that deletes
 *   the message releases the marker, so the same failure later is queued again.
 * - **Cap.** Distinct failures are counted per source and UTC hour; past
 *   `deadLetters.maxDistinctPerHour` they are refused (nothing kept, the sender is told to retry
 *   after the hour). A refusal is answered, logged and counted, never silent.
 * - **Fail open.** The ledger is a DynamoDB table, and DynamoDB failing is exactly when most
 *   failures are queued: every ledger call has a short timeout, and when the ledger cannot
 *   answer the message is queued unchecked. Clicks, forwards and replays are never capped.
 *
 * Plain TypeScript: the ledger and the queue are ports (adapters/dead-letter-ledger, SQS, files).
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { errorText, type KeepResult } from './conversion';
import { storableIp } from './ip';
import { quote } from './quote';
import type { CapRefusal, DeadLetterLedger, DeadLetterMessage, DeadLetterOrigin, DeadLetterSendResult, DeadLetterSink, FingerprintMarker, Log } from './model';

/** Default of `deadLetters.maxDistinctPerHour`. */
export const DEFAULT_MAX_DISTINCT_PER_HOUR = 1000;

/**
 * How long a marker dedupes its failure. A day: a flood of one failing request leaves at most
 * one message a day, and a marker whose message vanished outside Clickvault (a queue purged in
 * the console) stops hiding that failure after a day.
 */
export const MARKER_TTL_SECONDS = 24 * 3600;

/** A pending marker older than this belongs to a sender that died between claim and send. */
export const PENDING_STALE_MS = 60_000;

/**
 * How long an instance answers repeats of a failure it queued itself without asking the ledger,
 * and how many it remembers. Short: a redrive that replays the message meanwhile leaves the
 * repeat answered as queued, which only matters if the repeat would not be a duplicate of what
 * the replay recorded.
 */
export const RECENT_MS = 30_000;
export const RECENT_MAX = 10_000;

export interface GuardOptions {
  /** `deadLetters.maxDistinctPerHour`. */
  maxDistinctPerHour: number;
  log: Log;
  /** Timeout of each ledger call (default 500 ms). */
  callTimeoutMs?: number;
  /** Total time the guard may spend before it queues without the ledger (default 1,500 ms). */
  budgetMs?: number;
  now?: () => number;
  /** Pause while another request queues the same failure (default 25 ms). */
  pollMs?: number;
}

/**
 * The identity of a failure: a SHA-256 over its parts, so the ledger never holds request data.
 * Undefined parts are kept apart from empty ones.
 */
export function fingerprintOf(parts: readonly (string | undefined | boolean)[]): string {
  return createHash('sha256')
    .update(JSON.stringify(parts.map((p) => (p === undefined ? null : p))))
    .digest('base64url');
}

/** IPv4-mapped IPv6 (`::ffff:203.0.113.7`) is the IPv4 address: else all of IPv4 would share one /48. */
function plainIp(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped?.[1] !== undefined && isIPv4(mapped[1]) ? mapped[1] : ip;
}

/**
 * The cap's source of a request: the postback protection source that authenticated it, else
 * the sender's network (/24 for IPv4, /48 for IPv6), else `net:unknown`.
 */
export function capSource(sender: { protectionSource?: string; ip?: string }): string {
  if (sender.protectionSource) return `key:${sender.protectionSource}`;
  if (sender.ip) {
    const ip = plainIp(sender.ip.trim());
    const network = storableIp(ip, 'truncated');
    if (network !== undefined) return isIPv6(ip) ? `net:${network}/48` : `net:${network}/24`;
  }
  return 'net:unknown';
}

/** `2026-11-25T10`: the UTC hour a count belongs to. */
export function hourOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13);
}

/** The refusal as the sender reads it (the source is quoted: part of it comes from the request's address). */
export function capRefusalText(refusal: CapRefusal): string {
  const retryAt = quote(refusal.retryAt.slice(0, 16).replace('T', ' '), 16);
  return (
    `it was not queued either: ${quote(refusal.source, 80)} already has ${refusal.limit} distinct failing requests queued this hour ` +
    `(deadLetters.maxDistinctPerHour). Nothing was kept; retry after ${retryAt} UTC`
  );
}

class LedgerTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'LedgerTimeout';
  }
}

/**
 * A sink that dedupes and caps before it hands a message to the queue. Without a ledger (the
 * click function, which never caps) it is the queue itself.
 */
export class GuardedDeadLetterSink implements DeadLetterSink {
  private readonly now: () => number;

  constructor(
    private readonly queue: DeadLetterSink,
    private readonly ledger: DeadLetterLedger | undefined,
    private readonly options: GuardOptions,
  ) {
    if (!Number.isInteger(options.maxDistinctPerHour) || options.maxDistinctPerHour < 1) {
      throw new Error(`deadLetters.maxDistinctPerHour must be a whole number >= 1, got ${options.maxDistinctPerHour}`);
    }
    this.now = options.now ?? Date.now;
  }

  /** One ledger call with its own timeout; the SDK call is aborted when it passes. */
  private async call<T>(what: (signal: AbortSignal) => Promise<T>, deadline: number): Promise<T> {
    const ms = Math.max(1, Math.min(this.options.callTimeoutMs ?? 500, deadline - this.now()));
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        what(controller.signal),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            controller.abort();
            reject(new LedgerTimeout(ms));
          }, ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async enqueue(message: DeadLetterMessage, origin: DeadLetterOrigin, ledger?: 'unavailable'): Promise<DeadLetterSendResult> {
    await this.queue.send(message, origin);
    return { status: 'queued', messageId: message.id, ...(ledger ? { ledger } : {}) };
  }

  /** Failures this instance queued lately (fingerprint -> message id): repeats need no ledger call. */
  private readonly recent = new Map<string, { messageId: string; until: number }>();
  /** Failures being queued by this instance right now: a burst of one failure waits for the first. */
  private readonly inflight = new Map<string, Promise<DeadLetterSendResult>>();
  /** Sources this instance saw refused in an hour (`source|hour`): no more ledger calls for them then. */
  private readonly full = new Set<string>();

  async send(message: DeadLetterMessage, origin: DeadLetterOrigin): Promise<DeadLetterSendResult> {
    const ledger = this.ledger;
    if (!ledger || (!('source' in origin) && message.fingerprint === undefined)) return this.enqueue(message, origin);
    const fingerprint = message.fingerprint;
    if (fingerprint === undefined) return this.guarded(message, origin, ledger);

    // Within one instance a burst of the same failure is collapsed before the ledger is asked:
    // that keeps a flood of one request off the ledger's single item (DynamoDB throttles a hot
    // key), and keeps the dedupe working while the ledger is unreachable.
    const now = this.now();
    const recent = this.recent.get(fingerprint);
    if (recent && recent.until > now) return { status: 'duplicate', messageId: recent.messageId };
    const running = this.inflight.get(fingerprint);
    if (running) {
      const first = await running.catch(() => undefined);
      if (first?.status === 'queued' || first?.status === 'duplicate') return { status: 'duplicate', messageId: first.messageId };
      // The first was refused or failed: this one tries for itself (its source may differ).
    }
    const attempt = this.guarded(message, origin, ledger);
    this.inflight.set(fingerprint, attempt);
    try {
      const result = await attempt;
      if (result.status === 'queued' || result.status === 'duplicate') this.remember(fingerprint, result.messageId);
      return result;
    } finally {
      if (this.inflight.get(fingerprint) === attempt) this.inflight.delete(fingerprint);
    }
  }

  private remember(fingerprint: string, messageId: string): void {
    this.recent.delete(fingerprint);
    this.recent.set(fingerprint, { messageId, until: this.now() + RECENT_MS });
    // Bounded: the oldest go first (a Map iterates in insertion order).
    for (const key of this.recent.keys()) {
      if (this.recent.size <= RECENT_MAX) break;
      this.recent.delete(key);
    }
  }

  private async guarded(message: DeadLetterMessage, origin: DeadLetterOrigin, ledger: DeadLetterLedger): Promise<DeadLetterSendResult> {
    const capped = 'source' in origin;

    const started = this.now();
    const deadline = started + (this.options.budgetMs ?? 1500);
    const failOpen = (step: string, err: unknown): Promise<DeadLetterSendResult> => {
      this.options.log.warn('dead-letter ledger unavailable: queued without dedupe or cap', {
        messageId: message.id,
        kind: message.kind,
        reason: message.reason,
        step,
        error: errorText(err),
      });
      return this.enqueue(message, origin, 'unavailable');
    };

    // 1. Dedupe: claim the failure's marker, or find the message that holds it.
    const fingerprint = message.fingerprint;
    let claimed = false;
    if (fingerprint !== undefined) {
      for (;;) {
        const now = this.now();
        let result: Awaited<ReturnType<DeadLetterLedger['claim']>>;
        try {
          result = await this.call(
            (signal) =>
              ledger.claim(fingerprint, { messageId: message.id, now, expiresAt: Math.floor(now / 1000) + MARKER_TTL_SECONDS, staleBefore: now - PENDING_STALE_MS }, signal),
            deadline,
          );
        } catch (err) {
          return failOpen('claim', err);
        }
        if (result.claimed) {
          claimed = true;
          break;
        }
        const holder: FingerprintMarker | undefined = result.holder;
        if (holder?.state === 'queued') return { status: 'duplicate', messageId: holder.messageId };
        // Another request is queueing the same failure right now: wait for it, so a burst of
        // identical requests leaves one message. If it does not finish in time, queue this one
        // too (a second copy is replayed idempotently; a lost failure is not).
        if (this.now() + (this.options.pollMs ?? 25) >= deadline) return failOpen('claim', new Error('the same failure stayed pending'));
        await new Promise((r) => setTimeout(r, this.options.pollMs ?? 25));
      }
    }
    const release = async (why: string) => {
      if (!claimed || fingerprint === undefined) return;
      try {
        await this.call((signal) => ledger.release(fingerprint, message.id, signal), this.now() + (this.options.callTimeoutMs ?? 500));
      } catch (err) {
        // A marker left pending is taken over after PENDING_STALE_MS: nothing is hidden for long.
        this.options.log.warn('dead-letter marker not released', { messageId: message.id, why, error: errorText(err) });
      }
    };

    // 2. Cap: count this distinct failure against its source's hour.
    let counted: { source: string; hour: string } | undefined;
    if (capped) {
      const now = this.now();
      const hour = hourOf(now);
      const limit = this.options.maxDistinctPerHour;
      const full = `${origin.source}|${hour}`;
      let under = false;
      if (!this.full.has(full)) {
        try {
          under = await this.call((signal) => ledger.count(origin.source, hour, limit, Math.floor(now / 1000) + 2 * 3600, signal), deadline);
        } catch (err) {
          return failOpen('count', err);
        }
      }
      if (!under) {
        // Remembered for the hour: a flood of distinct failures stops costing ledger writes.
        if (this.full.size > RECENT_MAX) this.full.clear();
        this.full.add(full);
        await release('capped');
        const nextHour = Date.parse(`${hour}:00:00.000Z`) + 3600_000;
        return {
          status: 'capped',
          refusal: { source: origin.source, limit, retryAfterSeconds: Math.max(1, Math.ceil((nextHour - now) / 1000)), retryAt: new Date(nextHour).toISOString() },
        };
      }
      counted = { source: origin.source, hour };
    }

    // 3. Queue it; then mark the failure as queued, so repeats are answered as duplicates.
    try {
      await this.queue.send(message, origin);
    } catch (err) {
      await release('send failed');
      if (counted) {
        const { source, hour } = counted;
        await this.call((signal) => ledger.uncount(source, hour, signal), this.now() + (this.options.callTimeoutMs ?? 500)).catch(() => undefined);
      }
      throw err;
    }
    if (claimed && fingerprint !== undefined) {
      try {
        await this.call((signal) => ledger.confirm(fingerprint, message.id, signal), this.now() + (this.options.callTimeoutMs ?? 500));
      } catch (err) {
        // Left pending: a repeat after PENDING_STALE_MS queues one more copy, never less.
        this.options.log.warn('dead-letter marker not confirmed', { messageId: message.id, error: errorText(err) });
      }
    }
    return { status: 'queued', messageId: message.id };
  }
}

/** What a sink's answer means to the code that asked it to keep a failure. */
export function keptAs(result: DeadLetterSendResult): KeepResult {
  switch (result.status) {
    case 'queued':
      return { kept: true };
    case 'duplicate':
      return { kept: true, duplicateOf: result.messageId };
    case 'capped':
      return { kept: false, capped: result.refusal };
  }
}

/** The sentence a sender reads when its failure was a repeat of one already queued (the id as the ledger holds it, quoted). */
export function duplicateNote(messageId: string): string {
  return `The same request is queued already (message ${quote(messageId, 64)}); nothing new was added.`;
}
