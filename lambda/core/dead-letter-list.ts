/**
 * What waits in the dead-letter queue and its archive, as `npm run dlq`, `npm run trace` and the
 * dashboard list it: one entry per message, and the count by reason with what to do about each.
 */
import type { DeadLetterMessage, DeadLetterPlace, DeadLetterReason, ReceivedMessage } from './model';

export interface ListedMessage extends DeadLetterMessage {
  /** Where it waits: the queue, or the archive. */
  place: DeadLetterPlace;
}

/** One entry per message id (the copy with the most attempts), in arrival order. */
export function collapseCopies(received: readonly ReceivedMessage[]): ListedMessage[] {
  const byId = new Map<string, ListedMessage>();
  for (const r of received) {
    const listed: ListedMessage = { ...r.message, place: r.place ?? 'queue' };
    const seen = byId.get(listed.id);
    if (!seen || (listed.attempts ?? 0) > (seen.attempts ?? 0) || ((listed.attempts ?? 0) === (seen.attempts ?? 0) && (listed.lastAttemptAt ?? '') > (seen.lastAttemptAt ?? ''))) {
      byId.set(listed.id, listed);
    }
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export interface ReasonCount {
  reason: DeadLetterReason;
  count: number;
  /** Of them, in the archive (waited 10 days or more). */
  archived: number;
  /** The oldest one's arrival. */
  oldest: string;
  /** What to do about them. */
  advice: string;
}

/** What to do about each reason (README, "Dead-letter queue"). */
export const REASON_ADVICE: Record<DeadLetterReason, string> = {
  unknown_type:
    'The conversion type is not in the config: add it to conversionTypes, deploy (or restart npm start), then npm run redrive.',
  unknown_click:
    'No stored click has this id: usually a click still waiting in the queue itself (redrive replays clicks first), a click id from elsewhere, or a click that expired before it converted. Run npm run redrive; what still fails, look up with npm run trace.',
  storage_error: 'DynamoDB did not answer: once it does, npm run redrive stores these.',
  forward_failed: 'The traffic channel did not take the conversion: check its postbackUrl in the config, then npm run redrive.',
  forward_unknown:
    'The traffic channel got the conversion but its answer was lost: it may have counted it. Check in the channel first; send it again only if it is missing there (npm run redrive -- --reason forward_unknown).',
  invalid_input:
    'A signed request carried a value we cannot record (e.g. a currency outside defaults.currencies): fix the config if the value is right, then npm run redrive; otherwise ask the sender.',
};

/** Counts by reason, largest first. */
export function countByReason(messages: readonly ListedMessage[]): ReasonCount[] {
  const counts = new Map<DeadLetterReason, ReasonCount>();
  for (const m of messages) {
    const seen = counts.get(m.reason) ?? { reason: m.reason, count: 0, archived: 0, oldest: m.receivedAt, advice: REASON_ADVICE[m.reason] ?? 'See npm run dlq.' };
    seen.count++;
    if (m.place === 'archive') seen.archived++;
    if (m.receivedAt < seen.oldest) seen.oldest = m.receivedAt;
    counts.set(m.reason, seen);
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}
