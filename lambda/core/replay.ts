/**
 * Replaying the dead-letter queue (and its archive): each message runs again through the same
 * core that first handled it. Success (recorded, duplicate, or now a deliberate no-op) removes
 * it; a failure keeps it with one more attempt and the new reason. Every write is idempotent, so
 * replaying twice changes nothing.
 *
 * Overlapping redrives (two operators, a redrive beside the archiver, a run slower than the
 * queue's visibility timeout) never work on one message twice: each message id is leased in the
 * ledger while it is replayed, and the ledger records which copy is current, so older copies
 * (SQS cannot edit a message: an update is a new copy, then a delete) are dropped unreplayed.
 */
import type {
  ClickStore,
  LanderClickStore,
  DeadLetterMessage,
  DeadLetterReason,
  DeadLetterSendResult,
  DeadLetterSink,
  ReceivedMessage,
  DeadLetterQueue,
  RedriveLedger,
} from './model';
import { mintId } from './ids';
import { errorText, type ConversionDeps } from './conversion';
import { handlePostback } from './postback';
import { handleIpn, type IpnDeps } from './ipn';
import { sendForward, type ForwardDeps } from './forward';
import { processSend, type SendDeps } from './send';

export interface ReplayDeps extends ConversionDeps {
  clickStore: ClickStore & LanderClickStore;
  /** IPN settings; undefined when the config has no IPN (queued IPNs then stay queued). */
  ipn?: Pick<IpnDeps, 'ipn'>['ipn'];
  /** Retrying queued forwards; undefined: forward messages stay queued. */
  forwarding?: Omit<ForwardDeps, 'deadLetters'>;
  /** Retrying queued conversion API sends; undefined: those messages stay queued. */
  sending?: Omit<SendDeps, 'deadLetters'>;
}

export type ReplayResult =
  | { done: true; outcome: string }
  | { done: false; reason: DeadLetterReason | 'invalid_input' | 'not_configured'; detail: string };

/** A sink that keeps what the core would have queued, instead of queueing it again. */
class CapturingSink implements DeadLetterSink {
  captured?: DeadLetterMessage;
  async send(message: DeadLetterMessage): Promise<DeadLetterSendResult> {
    this.captured = message;
    return { status: 'queued', messageId: message.id };
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
        if (result.status === 'not_found') {
          // Its click is past its retention: it will never be stored, so nothing is waited for.
          const expires = message.landerClick.clickExpiresAt;
          if (expires !== undefined && Date.parse(expires) < Date.now()) return { done: true, outcome: 'lander click dropped: its click expired' };
          return { done: false, reason: 'unknown_click', detail: `click ${message.landerClick.clickId} is not stored (yet)` };
        }
        return { done: true, outcome: result.status === 'recorded' ? 'lander click recorded' : 'lander click already recorded' };
      } catch (err) {
        return { done: false, reason: 'storage_error', detail: `lander click could not be stored: ${errorText(err)}` };
      }
    }
    case 'postback': {
      const outcome = await handlePostback(
        { request: message.request, now: receivedAt, eventId: message.id, sender: 'replay', ...(message.pixelWithoutKey ? { pixelWithoutKey: true } : {}), ...(message.unauthenticated ? { unauthenticated: true } : {}) },
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
        case 'capped':
          return failedAgain(outcome.message);
      }
      break;
    }
    case 'forward': {
      if (!message.forward) return { done: false, reason: 'invalid_input', detail: 'the message holds no forward' };
      if (message.forward.platform !== undefined || message.forward.url === undefined) {
        // A conversion API send whose retries ran out: claimed from failed, sent once more.
        if (!deps.sending) return { done: false, reason: 'not_configured', detail: 'the conversion APIs are not set up for this replay' };
        let sent;
        try {
          sent = await processSend({ clickId: message.forward.clickId, conversionKey: message.forward.conversionKey }, { ...deps.sending, deadLetters: () => sink }, 'redrive');
        } catch (err) {
          return { done: false, reason: 'storage_error', detail: `the send state could not be updated: ${errorText(err)}` };
        }
        switch (sent.outcome) {
          case 'sent':
            return { done: true, outcome: `sent to ${sent.to ?? 'the platform'}` };
          case 'busy':
            return { done: true, outcome: 'already sent or in flight' };
          case 'gone':
            return { done: true, outcome: 'nothing to send any more' };
          case 'later':
            return { done: true, outcome: 'due again later (the sweep sends it)' };
          case 'skipped':
            return { done: true, outcome: `not sent: ${sent.detail ?? 'skipped'}` };
          case 'failed':
            // Final refusals are done (never retried forever); failures that may pass stay queued.
            return sent.retryable
              ? { done: false, reason: 'forward_failed', detail: sent.detail ?? 'failed' }
              : { done: true, outcome: `refused by ${sent.to ?? 'the platform'}: ${sent.detail ?? ''}` };
          default:
            return { done: false, reason: 'forward_failed', detail: sent.detail ?? sent.outcome };
        }
      }
      if (!deps.forwarding) return { done: false, reason: 'not_configured', detail: 'forwarding is not set up for this replay' };
      let result;
      try {
        result = await sendForward({ ...message.forward, url: message.forward.url }, 'failed', new Date(), { ...deps.forwarding, deadLetters: () => sink });
      } catch (err) {
        return { done: false, reason: 'storage_error', detail: `the forward state could not be updated: ${errorText(err)}` };
      }
      if (result.status === 'sent') return { done: true, outcome: 'forwarded' };
      if (result.status === 'already_claimed') return { done: true, outcome: 'already forwarded or in flight' };
      return { done: false, reason: 'reason' in result ? result.reason : 'forward_failed', detail: result.detail };
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

export type RedriveProgress = ReplayResult | 'skipped' | 'stale' | 'busy';

export interface RedriveOptions {
  limit: number;
  dryRun: boolean;
  /**
   * Only replay messages queued for this reason. Without it, every reason but
   * `forward_unknown`: a forward that may have arrived is sent again only when asked by name.
   */
  reason?: string;
  /**
   * Discard these messages (by id) instead of replaying them: a person decided they are not
   * to be recorded (a test, a signed IPN with an amount nobody can read). Every other message is
   * left as it is. Discarded messages go through the same leases, so a redrive running at the
   * same time never replays one being discarded.
   */
  discard?: ReadonlySet<string>;
  now?: () => Date;
  /**
   * Per copy: its replay result, `skipped` (filtered by reason), `stale` (an older copy of a
   * message updated since: dropped unreplayed), `busy` (another redrive running now holds it, or
   * has just replayed it).
   */
  onProgress?: (received: ReceivedMessage, result: RedriveProgress) => void;
  /** The archive (core/archive ArchiveQueue): its messages are replayed with the queue's. */
  archive?: DeadLetterQueue;
  /** Leases, current copies and failure markers; without it nothing is coordinated (tests). */
  ledger?: RedriveLedger;
  /** Lease per message while it is replayed (default 5 minutes). */
  leaseMs?: number;
  /** How long queue messages stay hidden per heartbeat (default 300 s); extended every third of it. */
  hideSeconds?: number;
  /** How long to wait at the end for messages another redrive holds (default 30 s). */
  waitForOthersMs?: number;
}

export interface RedriveSummary {
  /** Copies read (queue and archive). */
  received: number;
  /** Of those, from the archive. */
  fromArchive: number;
  replayed: number;
  /** Deleted on a person's word (--discard), not replayed. */
  discarded: number;
  outcomes: Record<string, number>;
  stillFailing: Record<string, number>;
  skipped: number;
  /** Forwards that may have arrived (`forward_unknown`), left queued: replayed only with that --reason. */
  heldUnknownForwards: number;
  /** Older copies of messages updated since, dropped without a replay. */
  staleCopies: number;
  /** Left to another redrive running at the same time (it held them, or had just replayed them). */
  busy: number;
  dryRun: boolean;
}

interface Copy {
  received: ReceivedMessage;
  from: DeadLetterQueue;
}

/** The copy to replay among copies of one id: the most attempts, then the latest attempt. */
function newest(copies: Copy[]): Copy {
  return copies.reduce((best, c) => {
    const a = c.received.message;
    const b = best.received.message;
    if ((a.attempts ?? 0) !== (b.attempts ?? 0)) return (a.attempts ?? 0) > (b.attempts ?? 0) ? c : best;
    return (a.lastAttemptAt ?? '') > (b.lastAttemptAt ?? '') ? c : best;
  });
}

/**
 * Drains up to `limit` messages. In a dry run nothing is written: every message is evaluated
 * against read-only stores (`deps` must then be built read-only by the caller) and released.
 */
export async function redrive(queue: DeadLetterQueue, deps: ReplayDeps, options: RedriveOptions): Promise<RedriveSummary> {
  const clock = options.now ?? (() => new Date());
  const owner = `redrive-${mintId(Date.now())}`;
  const summary: RedriveSummary = {
    received: 0,
    fromArchive: 0,
    replayed: 0,
    discarded: 0,
    outcomes: {},
    stillFailing: {},
    skipped: 0,
    heldUnknownForwards: 0,
    staleCopies: 0,
    busy: 0,
    dryRun: options.dryRun,
  };
  const copies: Copy[] = (await queue.receive(options.limit)).map((received) => ({ received, from: queue }));
  if (options.archive && copies.length < options.limit) {
    const archived = await options.archive.receive(options.limit - copies.length);
    summary.fromArchive = archived.length;
    copies.push(...archived.map((received) => ({ received: { ...received, place: 'archive' as const }, from: options.archive as DeadLetterQueue })));
  }
  summary.received = copies.length;

  // Heartbeat: what this run holds stays hidden from other readers until it is done with it,
  // and other runs see this one as going on (so they leave what it replayed to it).
  const pending = new Set(copies.filter((c) => c.from === queue).map((c) => c.received.handle));
  const hideSeconds = options.hideSeconds ?? 300;
  const leaseMs = options.leaseMs ?? 300_000;
  const runLedger = options.dryRun ? undefined : options.ledger;
  await runLedger?.announceRun(owner, Date.now() + leaseMs);
  const hiding =
    queue.keepHidden && !options.dryRun
      ? setInterval(() => {
          if (pending.size > 0) void queue.keepHidden?.([...pending], hideSeconds).catch(() => undefined);
        }, (hideSeconds * 1000) / 3)
      : undefined;
  const announcing = runLedger ? setInterval(() => void runLedger.announceRun(owner, Date.now() + leaseMs).catch(() => undefined), leaseMs / 3) : undefined;
  const done = (copy: Copy) => pending.delete(copy.received.handle);

  // One group per message id; clicks first (a queued postback or lander click often names a
  // queued click), then in arrival order.
  const groups = new Map<string, Copy[]>();
  for (const copy of copies) {
    const id = copy.received.message.id;
    groups.set(id, [...(groups.get(id) ?? []), copy]);
  }
  const order = [...groups.keys()].sort((a, b) => {
    const clickA = groups.get(a)?.some((c) => c.received.message.kind === 'click') ? 0 : 1;
    const clickB = groups.get(b)?.some((c) => c.received.message.kind === 'click') ? 0 : 1;
    return clickA - clickB || (a < b ? -1 : a > b ? 1 : 0);
  });

  const giveBack = async (group: Copy[], result: RedriveProgress) => {
    for (const copy of group) {
      // A copy another run deleted meanwhile cannot be released: nothing to give back.
      await copy.from.release(copy.received.handle).catch(() => undefined);
      done(copy);
      options.onProgress?.(copy.received, result);
    }
  };
  const dropStale = async (copy: Copy) => {
    // An SQS copy is its own message: deleted. A file or archive item is deleted only if it
    // still holds the revision this handle was read at (their remove checks): one updated since
    // stays.
    await copy.from.remove(copy.received.handle);
    done(copy);
    summary.staleCopies++;
    options.onProgress?.(copy.received, 'stale');
  };

  /** Replays one id; false when another redrive holds it. */
  const processGroup = async (id: string, group: Copy[]): Promise<boolean> => {
    const discarding = options.discard?.has(id) === true;
    if ((options.discard !== undefined && !discarding) || (options.reason !== undefined && !group.some((c) => c.received.message.reason === options.reason))) {
      summary.skipped += group.length;
      await giveBack(group, 'skipped');
      return true;
    }
    if (!discarding && options.reason === undefined && group.some((c) => c.received.message.reason === 'forward_unknown')) {
      summary.heldUnknownForwards += group.length;
      await giveBack(group, 'skipped');
      return true;
    }
    const ledger = options.dryRun ? undefined : options.ledger;
    let current = group;
    if (ledger) {
      const now = Date.now();
      const lease = await ledger.lease(id, owner, now, now + leaseMs);
      if (!lease.acquired) return false;
      const record = lease.record;
      current = [];
      for (const copy of group) {
        // Replayed for good (recorded by whoever replayed it, before its copy is deleted), or not
        // the current copy: by the record for SQS, by the place itself for files and the archive.
        const stale =
          record?.state === 'removed' ||
          (copy.from.stillCurrent
            ? !(await copy.from.stillCurrent(copy.received.handle))
            : record !== undefined && record.revision !== (copy.received.message.revision ?? ''));
        if (stale) await dropStale(copy);
        else current.push(copy);
      }
      if (current.length === 0) {
        await ledger.unlease(id, owner);
        return true;
      }
      // Replayed moments ago by a redrive that is still running (this is its updated copy):
      // together the two runs replay each message once.
      if (record?.state === 'current' && record.by !== undefined && record.by !== owner && (await ledger.runActive(record.by, Date.now()))) {
        await ledger.unlease(id, owner);
        summary.busy += current.length;
        await giveBack(current, 'busy');
        return true;
      }
    }
    // Copies of one revision are the same message (e.g. the archiver stopped between its two
    // steps): replay one, drop the others.
    const keeper = newest(current.filter((c) => c.from === queue).length > 0 ? current.filter((c) => c.from === queue) : current);
    for (const copy of current) {
      if (copy === keeper) continue;
      if (options.dryRun) await giveBack([copy], 'stale');
      else {
        await copy.from.remove(copy.received.handle);
        done(copy);
        summary.staleCopies++;
        options.onProgress?.(copy.received, 'stale');
      }
    }

    const { message, handle } = keeper.received;
    let result: ReplayResult;
    try {
      result = discarding ? { done: true, outcome: 'discarded' } : await replayMessage(message, deps);
    } catch (err) {
      await ledger?.unlease(id, owner);
      throw err;
    }
    options.onProgress?.(keeper.received, result);
    if (result.done) {
      if (discarding) summary.discarded++;
      else {
        summary.replayed++;
        summary.outcomes[result.outcome] = (summary.outcomes[result.outcome] ?? 0) + 1;
      }
      if (options.dryRun) await keeper.from.release(handle);
      else {
        // The same failure may be queued again from now on; then the message is gone for good.
        if (ledger && message.fingerprint !== undefined) await ledger.release(message.fingerprint, message.id, AbortSignal.timeout(10_000));
        await ledger?.finish(id, owner, { revision: message.revision ?? '', state: 'removed' });
        await keeper.from.remove(handle);
      }
    } else {
      summary.stillFailing[result.reason] = (summary.stillFailing[result.reason] ?? 0) + 1;
      if (options.dryRun) await keeper.from.release(handle);
      else {
        const updated: DeadLetterMessage = {
          ...message,
          reason: result.reason === 'invalid_input' || result.reason === 'not_configured' ? message.reason : result.reason,
          detail: result.detail,
          attempts: (message.attempts ?? 0) + 1,
          lastAttemptAt: clock().toISOString(),
          revision: mintId(Date.now()),
        };
        if (keeper.from.stillCurrent || !ledger) {
          // Updated in place (files, the archive), or nothing to coordinate with.
          await keeper.from.replace(handle, updated);
          await ledger?.finish(id, owner, { revision: updated.revision ?? '', state: 'current' });
        } else {
          // SQS: the new copy first, then the record that it is the current one, then the old
          // copy goes. A crash at any point leaves a current copy; older ones are dropped later.
          await keeper.from.send(updated, { uncapped: 'replay' });
          if (await ledger.finish(id, owner, { revision: updated.revision ?? '', state: 'current' })) await keeper.from.remove(handle);
        }
      }
    }
    done(keeper);
    return true;
  };

  const busy = new Map<string, Copy[]>();
  try {
    for (const id of order) {
      const group = groups.get(id) ?? [];
      if (!(await processGroup(id, group))) busy.set(id, group);
    }
    // What another redrive held: wait for it to finish, then drop the copies it made stale (or
    // replay them, if it let go without finishing).
    const until = Date.now() + (options.waitForOthersMs ?? 30_000);
    while (busy.size > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      for (const [id, group] of [...busy]) if (await processGroup(id, group)) busy.delete(id);
    }
    for (const group of busy.values()) {
      summary.busy += group.length;
      await giveBack(group, 'busy');
    }
  } finally {
    if (hiding) clearInterval(hiding);
    if (announcing) clearInterval(announcing);
    await runLedger?.announceRun(owner, 0).catch(() => undefined);
  }
  return summary;
}
