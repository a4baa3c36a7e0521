/**
 * The archive behind the dead-letter queue. SQS keeps a message 14 days, and the 202 a sender
 * got ended its retries, so the queue's copy is the only one: before retention can drop it, the
 * archiver moves every message older than the move age (10 days) into the durable archive, where
 * `npm run dlq` lists it and `npm run redrive` replays it like any other.
 *
 * Crash-safe and idempotent: a message is written to the archive first and deleted from the
 * queue second, under the same per-message lease redrives take, so a crash in between leaves
 * two copies of one revision (the next run archives it again, harmlessly, and deletes it), never
 * none; and an archiver never moves a message a redrive is working on.
 */
import { mintId } from './ids';
import { DEAD_LETTER_KINDS, type DeadLetterArchive, type DeadLetterMessage, type DeadLetterQueue, type DeadLetterSendResult, type ReceivedMessage, type RedriveLedger } from './model';

/** `<kind>/<id>#<revision>`: an archived message's handle, for every kind there is. */
const ARCHIVE_HANDLE = new RegExp(`^(${DEAD_LETTER_KINDS.join('|')})\\/([0-9A-Z]{26})#(.*)$`);

/** Messages this old (counted from when the copy was sent to the queue) move to the archive. */
export const ARCHIVE_AFTER_DAYS = 10;

/** The archive as a queue, so a redrive reads, replays, updates and deletes it like the SQS queue. */
export class ArchiveQueue implements DeadLetterQueue {
  constructor(
    private readonly archive: DeadLetterArchive,
    private readonly now: () => Date = () => new Date(),
  ) {}

  static handleOf(message: Pick<DeadLetterMessage, 'kind' | 'id' | 'revision'>): string {
    return `${message.kind}/${message.id}#${message.revision ?? ''}`;
  }

  private static parse(handle: string): { key: Pick<DeadLetterMessage, 'kind' | 'id'>; revision: string } {
    const match = ARCHIVE_HANDLE.exec(handle);
    if (!match) throw new Error(`not an archive handle: ${handle}`);
    return { key: { kind: match[1] as DeadLetterMessage['kind'], id: match[2] as string }, revision: match[3] as string };
  }

  async send(message: DeadLetterMessage): Promise<DeadLetterSendResult> {
    await this.archive.put(message, this.now().toISOString());
    return { status: 'queued', messageId: message.id };
  }

  async receive(limit: number): Promise<ReceivedMessage[]> {
    return (await this.archive.list(limit)).map((message) => ({ handle: ArchiveQueue.handleOf(message), message, place: 'archive' as const }));
  }

  async stillCurrent(handle: string): Promise<boolean> {
    const { key, revision } = ArchiveQueue.parse(handle);
    const stored = await this.archive.get(key);
    return stored !== undefined && (stored.revision ?? '') === revision;
  }

  async remove(handle: string): Promise<void> {
    if (await this.stillCurrent(handle)) await this.archive.delete(ArchiveQueue.parse(handle).key);
  }

  async replace(handle: string, updated: DeadLetterMessage): Promise<void> {
    const { key } = ArchiveQueue.parse(handle);
    await this.archive.update({ ...updated, kind: key.kind, id: key.id });
  }

  async release(): Promise<void> {
    // Nothing is hidden in the archive.
  }
}

export interface ArchiveOptions {
  /** Epoch ms (real time) after which no new message is started (the function's deadline, below its timeout). */
  deadline: number;
  /** The time ages are measured against (default the real time; tests move it forward). */
  now?: () => number;
  /** @default ARCHIVE_AFTER_DAYS */
  afterDays?: number;
  /** Leases shared with redrives; without it (tests only) nothing is coordinated. */
  ledger?: RedriveLedger;
  /** Lease length per message (default 5 minutes). */
  leaseMs?: number;
  /** Messages read per receive (default 100). */
  batch?: number;
}

export interface ArchiveSummary {
  /** Messages looked at. */
  examined: number;
  /** Moved to the archive (and deleted from the queue). */
  archived: number;
  /** Younger than the move age: left in the queue. */
  young: number;
  /** Older copies of a message a redrive has updated since: deleted, the current copy stays. */
  staleCopies: number;
  /** Held by a redrive at the moment: left for the next run. */
  busy: number;
  /** Stopped at the deadline with messages unread. */
  deadlineReached: boolean;
  /**
   * When the longest-waiting failure (in the queue or the archive) arrived: what the "oldest
   * dead letter" alarm measures. Absent when nothing waits.
   */
  oldestWaitingSince?: string;
}

/** Moves every message older than the move age from the queue to the archive. */
export async function archiveOldMessages(queue: DeadLetterQueue, archive: DeadLetterArchive, options: ArchiveOptions): Promise<ArchiveSummary> {
  const now = options.now ?? Date.now;
  const cutoff = now() - (options.afterDays ?? ARCHIVE_AFTER_DAYS) * 86400_000;
  const owner = `archiver-${mintId(Date.now())}`;
  const summary: ArchiveSummary = { examined: 0, archived: 0, young: 0, staleCopies: 0, busy: 0, deadlineReached: false };
  // Young messages stay hidden while the run goes on (so each receive returns others) and are
  // given back at the end. A queue without visibility (files) returns the same ones again: the
  // run ends when a receive brings nothing new.
  const keep: string[] = [];
  const seen = new Set<string>();
  try {
    for (;;) {
      if (Date.now() >= options.deadline) {
        summary.deadlineReached = true;
        break;
      }
      // A queue without visibility (files) returns the same first messages every time: read it whole.
      const batch = (await queue.receive(queue.stillCurrent ? Number.MAX_SAFE_INTEGER : (options.batch ?? 100))).filter((r) => !seen.has(r.handle));
      if (batch.length === 0) break;
      for (const received of batch) {
        seen.add(received.handle);
        if (Date.now() >= options.deadline) {
          keep.push(received.handle);
          summary.deadlineReached = true;
          continue;
        }
        summary.examined++;
        const { message } = received;
        if (summary.oldestWaitingSince === undefined || message.receivedAt < summary.oldestWaitingSince) summary.oldestWaitingSince = message.receivedAt;
        const sent = Date.parse(received.sentAt ?? message.lastAttemptAt ?? message.receivedAt);
        if (!(sent <= cutoff)) {
          summary.young++;
          keep.push(received.handle);
          continue;
        }
        const outcome = await moveOne(queue, archive, received, owner, options);
        summary[outcome]++;
        if (outcome === 'busy') keep.push(received.handle);
      }
    }
  } finally {
    await Promise.all(keep.map((handle) => queue.release(handle).catch(() => undefined)));
  }
  const archived = await archive.oldest();
  if (archived && (summary.oldestWaitingSince === undefined || archived.receivedAt < summary.oldestWaitingSince)) summary.oldestWaitingSince = archived.receivedAt;
  return summary;
}

async function moveOne(
  queue: DeadLetterQueue,
  archive: DeadLetterArchive,
  received: ReceivedMessage,
  owner: string,
  options: ArchiveOptions,
): Promise<'archived' | 'staleCopies' | 'busy'> {
  const { message, handle } = received;
  const now = Date.now();
  const ledger = options.ledger;
  if (ledger) {
    const lease = await ledger.lease(message.id, owner, now, now + (options.leaseMs ?? 300_000));
    if (!lease.acquired) return 'busy';
    const record = lease.record;
    const stale =
      record?.state === 'removed' ||
      (queue.stillCurrent ? !(await queue.stillCurrent(handle)) : record !== undefined && record.revision !== (message.revision ?? ''));
    if (stale) {
      // A redrive replayed or updated this message after this copy was sent: the copy is spent.
      await queue.remove(handle);
      await ledger.unlease(message.id, owner);
      return 'staleCopies';
    }
  }
  try {
    // Archive first, then delete: a crash in between leaves the message in both places, never in none.
    await archive.put(message, new Date(now).toISOString());
    await queue.remove(handle);
  } finally {
    await ledger?.unlease(message.id, owner);
  }
  return 'archived';
}
