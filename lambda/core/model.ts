/**
 * The tracker's records and the ports the core talks through. Plain TypeScript: no AWS SDK,
 * no API Gateway shapes. Adapters (lambda/adapters) implement the ports.
 */
import type { ConversionType } from '../../config/schema';

export const SUB_COUNT = 20;

/** Partition key of conversions that arrived without a click id (organic sales). */
export const UNATTRIBUTED_CLICK_ID = '~unattributed';

/**
 * Test conversions (Digistore24 `api_mode=test`, with digistore24.ipn.recordTestOrders) are
 * indexed under `~test:<campaignId>` instead of their campaign, so reports leave them out
 * without reading them, and `--include-tests` reads them from there.
 */
export const TEST_CAMPAIGN_PREFIX = '~test:';
export type SubKey = `sub${number}`;

/** Why a click was flagged as a bot: its user agent matched the bot list, or it was a HEAD request. */
export type BotReason = 'user_agent' | 'head';

/** One stored click. */
export interface ClickRecord {
  clickId: string;
  campaignId: string;
  /**
   * The offer the visitor was sent to. For a campaign with landers it is absent until the
   * visitor leaves the lander (GET /go), which records it with `lpClickAt`.
   */
  offerId?: string;
  channelId: string;
  /** The lander the visitor was sent to (campaigns with landers), or is on (a direct visit). */
  landerId?: string;
  /** ISO time of the first lander click (GET /go); set once, with `offerId`, by one conditional update. */
  lpClickAt?: string;
  /**
   * A bot (crawler, link previewer, HEAD request): stored like any click (one write), never
   * counted in clicks, CR, EPC or cost; reports show it under `bots`.
   */
  bot?: true;
  botReason?: BotReason;
  /** Direct tracking (/t.js): the page the visitor was on (origin and path, no query). */
  page?: string;
  /** Meta's browser id and click id cookies (`_fbp`, `_fbc`) as t.js read them on the page. */
  fbp?: string;
  fbc?: string;
  /** ISO-8601 UTC time of the click. */
  createdAt: string;
  /** Epoch seconds after which DynamoDB TTL deletes the click. */
  expiresAt: number;
  /** sub1..sub20 as given on the click URL (bounded length); absent ones are left out. */
  subs: Partial<Record<SubKey, string>>;
  /** The traffic channel's own click id (fbclid, gclid, ...). */
  channelClickId?: string;
  /** Which parameter it came from, when the channel names several (Google: gclid, gbraid, wbraid). */
  channelClickIdParam?: string;
  /**
   * The full visitor address for a Meta or TikTok conversion API, sealed with its day's key
   * (core/sealed-ip): unreadable after 7 days, removed once the click's sends are done.
   */
  sealedIp?: string;
  /** Cost of the click as a canonical decimal string. */
  cost?: string;
  userAgent?: string;
  referer?: string;
  /** ISO 3166 country code from CloudFront-Viewer-Country. */
  country?: string;
  /** Visitor IP, full or truncated per config; absent with ipStorage "none". */
  ip?: string;
}

export type ConversionSource = 'postback' | 'pixel' | 'ipn';

/** One stored conversion. */
export interface ConversionRecord {
  /** Click id, or UNATTRIBUTED_CLICK_ID for organic sales. */
  clickId: string;
  /** `type|txid`: with clickId, the identity that makes repeats duplicates. */
  conversionKey: string;
  type: string;
  /** Canonical decimal string, sign from the type's revenue mode. */
  revenue: string;
  currency: string;
  /** Whether the type counts as a conversion in reports. */
  counted: boolean;
  txid?: string;
  status?: string;
  source: ConversionSource;
  createdAt: string;
  attributed: boolean;
  campaignId?: string;
  offerId?: string;
  /** The click's lander (lander campaigns), copied from the click like the offer. */
  landerId?: string;
  channelId?: string;
  /** Buyer details from an IPN, only when the config's storeBuyerData allows it. */
  buyer?: Record<string, string>;
  /** The traffic channel's own click id, copied from the click (used to forward). */
  channelClickId?: string;
  /** Which parameter the channel click id came from, when the channel names several. */
  channelClickIdParam?: string;
  /** Copied from the click so reports group conversions without reading clicks. */
  clickCreatedAt?: string;
  country?: string;
  sub1?: string;
  sub2?: string;
  sub3?: string;
  sub4?: string;
  sub5?: string;
  /**
   * A test order (Digistore24 `api_mode=test`, recorded because recordTestOrders is on): shown
   * by trace, left out of reports unless asked for, never forwarded. Its key ends in `|test`,
   * so it can never take the place of the live sale with the same transaction id.
   */
  test?: true;
}

/** One inbound request (postback, pixel, IPN) and what was done with it: the trace of a click. */
export interface InboundEntry {
  /** The click id it named, or NO_CLICK_ID. */
  clickId: string;
  receivedAt: string;
  requestId: string;
  channel: 'postback' | 'pixel' | 'ipn';
  outcome: string;
  httpStatus: number;
  reason?: string;
  type?: string;
  txid?: string;
  revenue?: string;
  currency?: string;
  /** The answer given (cut to 300 characters). */
  answer: string;
  /** What was done, when the answer itself does not say (an IPN's success answer is a bare `OK`). */
  detail?: string;
  /** The postback source that authenticated it, if any. */
  source?: string;
  /** Which of that source's keys matched (its position in `keys`; never the key itself). */
  keyIndex?: number;
}

/** Partition of inbound entries that named no (valid) click id. */
export const NO_CLICK_ID = '~none';

export interface InboundLog {
  record(entry: InboundEntry, expiresAt: number): Promise<void>;
}

export type PutResult = 'stored' | 'duplicate';

export interface ClickStore {
  /** Stores a click; `duplicate` when a click with that id exists already (replays). */
  putClick(click: ClickRecord): Promise<PutResult>;
}

/** The first lander click of a click: when, and which offer the visitor was sent to. */
export interface LanderClick {
  clickId: string;
  offerId: string;
  /** ISO time of the lander click. */
  at: string;
  /**
   * ISO time the click's retention ends (its id's time + clickRetentionDays), on a queued lander
   * click: a replay after it drops the lander click instead of waiting for a click that is gone.
   */
  clickExpiresAt?: string;
}

/**
 * What recording a lander click found, from its one conditional update: `recorded` (this was
 * the first), `repeat` (one was recorded before: nothing changed), `not_found` (no such click
 * is stored, or not yet). `click` is the stored click after the update (recorded) or as it was
 * (repeat): what the offer URL's macros are filled from.
 */
export type LanderClickResult = { status: 'recorded'; click: ClickRecord } | { status: 'repeat'; click: ClickRecord } | { status: 'not_found' };

export interface LanderClickStore {
  /**
   * Sets `lpClickAt` and `offerId` on the stored click unless a lander click is recorded on it
   * already: one conditional UpdateItem, and a read only when its condition fails.
   */
  recordLanderClick(landerClick: LanderClick): Promise<LanderClickResult>;
}

export interface ClickReader {
  getClick(clickId: string): Promise<ClickRecord | undefined>;
}

/**
 * `stored`: this call wrote the conversion (also when an earlier attempt of the same call was
 * applied but its answer was lost, and a retry then found it). `duplicate`: another request
 * stored one with the same clickId + conversionKey first; `stored` is that item as it is.
 */
export type PutConversionResult = { status: 'stored' } | { status: 'duplicate'; stored: ConversionRecord };

export interface ConversionStore {
  /**
   * Stores a conversion unless one with the same clickId + conversionKey exists. `writeToken`
   * identifies this request's attempts (kept in the item): a retry that finds its own token
   * is `stored`, not a duplicate. Requests replayed from the queue pass the message's id, so
   * a replay recognises the write of the request it replays. Default: a new random token.
   */
  putConversion(conversion: ConversionRecord, writeToken?: string): Promise<PutConversionResult>;
}

/**
 * A conversion as stored, read back on the rare paths that need a click's earlier conversions:
 * the click's attribution (copied onto every conversion) and the money.
 */
export interface PastConversion {
  type: string;
  /** Canonical decimal text (read as text, never a float). */
  revenue: string;
  currency: string;
  createdAt: string;
  campaignId?: string;
  offerId?: string;
  landerId?: string;
  channelId?: string;
  channelClickId?: string;
  channelClickIdParam?: string;
  clickCreatedAt?: string;
  country?: string;
  sub1?: string;
  sub2?: string;
  sub3?: string;
  sub4?: string;
  sub5?: string;
  /** A test order: it proves nothing about the click's money (nor, stored apart, its campaign). */
  test?: boolean;
}

/**
 * A click's stored conversions. Read only when the click itself cannot answer: it expired (a
 * late refund, chargeback or rebill of a sale), or a refund names no currency.
 */
export interface ConversionHistory {
  /** Up to `limit` of the conversions stored for a click (one Query on its partition). */
  conversionsOf(clickId: string, limit: number): Promise<PastConversion[]>;
}

/** Where a conversion's forwarding state lives (on the conversion item). */
export interface ForwardStore {
  /**
   * Claims the right to send: from `new` (never tried) or `failed` (a queued retry). False when
   * another attempt holds it or it was sent: that is what makes forwarding at most once.
   */
  claimForward(clickId: string, conversionKey: string, from: 'new' | 'failed', at: string): Promise<boolean>;
  finishForward(clickId: string, conversionKey: string, state: 'sent' | 'failed', at: string, detail?: string): Promise<void>;
}

/** Sends one HTTP request to a traffic channel. */
/**
 * Whether a failed channel postback may have arrived: `not_sent` (no connection was made, or
 * there was no time to try), `refused` (the channel answered, and not with success) — both safe
 * to send again — or `unknown` (no answer: a timeout or a connection lost after the request
 * went out), which is never sent again automatically, or the channel could count it twice.
 */
export type ChannelDelivery = 'not_sent' | 'refused' | 'unknown';

export type ChannelPostbackResult = { ok: true; status: number } | { ok: false; error: string; delivery: ChannelDelivery };

export interface ChannelPostback {
  send(url: string): Promise<ChannelPostbackResult>;
}

export interface ConversionTypeSource {
  getConversionType(name: string): Promise<ConversionType | undefined>;
}

/** The request as it arrived, kept so a queued message can be replayed through the same core. */
export interface RawRequest {
  method: string;
  path: string;
  /** Raw query string without the leading `?`. */
  query: string;
  /** Body as UTF-8 text (empty when none). */
  body: string;
  /** Relevant request headers, lower-case names. */
  headers: Record<string, string>;
}

/**
 * Every kind of dead letter, in replay order: clicks first (a queued postback or lander click
 * often names a queued click). The archive reads and parses exactly these.
 */
export const DEAD_LETTER_KINDS = ['click', 'lander_click', 'postback', 'ipn', 'forward'] as const;
export type DeadLetterKind = (typeof DEAD_LETTER_KINDS)[number];
export type DeadLetterReason = 'storage_error' | 'unknown_type' | 'unknown_click' | 'forward_failed' | 'forward_unknown' | 'invalid_input';

/** What the dead-letter queue keeps: enough to explain the failure and replay it. */
export interface DeadLetterMessage {
  version: 1;
  /** Unique id of this message (a ULID, so it sorts by time). */
  id: string;
  kind: DeadLetterKind;
  reason: DeadLetterReason;
  /** Human-readable detail of the reason. */
  detail: string;
  receivedAt: string;
  clickId?: string;
  /**
   * The request as it arrived. For kind "ipn" the body holds only the fields needed to replay
   * it (no buyer data), its signature was verified on arrival, and replay does not re-check it.
   */
  request: RawRequest;
  /** For kind "click": the click exactly as it was to be stored (the visitor already has its id). */
  click?: ClickRecord;
  /**
   * For kind "lander_click": the lander click (GET /go) of a click that was not stored (yet) —
   * the offer chosen and when — recorded on the click when a replay finds it.
   */
  landerClick?: LanderClick;
  /**
   * For kind "forward": the conversion to send on, and the channel URL it goes to (a generic
   * postback) or the ad platform (a conversion API; no token, no address travels).
   */
  forward?: { clickId: string; conversionKey: string; url?: string; platform?: 'meta' | 'tiktok' | 'google-ads' };
  /** A pixel that arrived without the postback key: replayed under the same restriction. */
  pixelWithoutKey?: true;
  /** A postback accepted without a valid key: replayed the same way (never sent to an ad platform). */
  unauthenticated?: true;
  /**
   * Identity of the failure (core/dead-letters fingerprintOf): a repeat of the same failing
   * request has the same fingerprint and is not queued again while this message waits.
   * Absent for failures that are never the same twice (clicks, organic sales without txid).
   */
  fingerprint?: string;
  /**
   * Which copy this is. A redrive that updates a message writes a new copy with a new
   * revision and records it in the ledger, so older copies of the same id are recognised
   * (and dropped) instead of replayed again. Absent on a message never updated.
   */
  revision?: string;
  /** How many replays have failed so far, and when the last one ran. */
  attempts?: number;
  lastAttemptAt?: string;
}

/** Where a received message lives: the SQS queue (or local files), or the durable archive. */
export type DeadLetterPlace = 'queue' | 'archive';

/** A message taken from the queue for replay; `handle` identifies it to the queue. */
export interface ReceivedMessage {
  handle: string;
  message: DeadLetterMessage;
  /** When this copy was written to the queue (SQS SentTimestamp, file time): what retention counts from. */
  sentAt?: string;
  /** @default 'queue' */
  place?: DeadLetterPlace;
}

/** The dead-letter queue as the redrive tool uses it (SQS in AWS, files locally). */
export interface DeadLetterQueue extends DeadLetterSink {
  /** Takes up to `limit` messages (hidden from other readers until removed, replaced or released). */
  receive(limit: number): Promise<ReceivedMessage[]>;
  /** Deletes a message whose replay succeeded. */
  remove(handle: string): Promise<void>;
  /** Replaces a message whose replay failed with its updated copy (attempts, reason). */
  replace(handle: string, updated: DeadLetterMessage): Promise<void>;
  /** Gives a message back untouched (dry runs, filtered out). */
  release(handle: string): Promise<void>;
  /**
   * Keeps received messages hidden for `seconds` more while a long redrive works through its
   * batch, so no other reader takes them meanwhile. Optional: a queue without visibility
   * (local files) has nothing to extend.
   */
  keepHidden?(handles: readonly string[], seconds: number): Promise<void>;
  /**
   * For places that hold one copy per id and update it in place (local files, the archive):
   * whether the handle still names the stored copy (same revision, not removed). Absent (SQS,
   * where an update is a new message): copies are judged by the ledger's record instead.
   */
  stillCurrent?(handle: string): Promise<boolean>;
}

/**
 * Who sent the failing request, for the per-source cap on distinct failures
 * (`deadLetters.maxDistinctPerHour`): a `source` key such as `key:digistore24` (the postback
 * protection source that authenticated it) or `net:203.0.113.0/24` (the sender's network, for
 * keyless requests). `uncapped` for what must never be refused: a click whose storage failed (a
 * real visitor with a fresh id), a failed forward of a recorded conversion, a replay.
 */
export type DeadLetterOrigin = { source: string } | { uncapped: 'click' | 'forward' | 'replay' };

/** A failure not queued because its source reached its cap this hour. */
export interface CapRefusal {
  source: string;
  limit: number;
  /** Seconds until the hour's count starts again (what Retry-After says). */
  retryAfterSeconds: number;
  /** That moment, ISO-8601 UTC. */
  retryAt: string;
}

export type DeadLetterSendResult =
  /** Queued now. `ledger: 'unavailable'`: the ledger could not be asked, so it was queued unchecked (fail open). */
  | { status: 'queued'; messageId: string; ledger?: 'unavailable' }
  /** The same failure is queued already (that message's id): nothing new was added. */
  | { status: 'duplicate'; messageId: string }
  /** Not queued: the source's cap for distinct failures this hour is reached. */
  | { status: 'capped'; refusal: CapRefusal };

export interface DeadLetterSink {
  /**
   * Keeps a failure for replay. Throws when it could not be kept (the caller answers 503).
   * Plain queues (SQS, files) queue everything; the guarded sink (core/dead-letters) adds the
   * dedupe and the per-source cap, and uses `origin` for the cap.
   */
  send(message: DeadLetterMessage, origin: DeadLetterOrigin): Promise<DeadLetterSendResult>;
}

/** A failure's marker in the ledger: the message that holds it, and whether it is queued yet. */
export interface FingerprintMarker {
  messageId: string;
  state: 'pending' | 'queued';
  /** Epoch ms of the claim. */
  claimedAt: number;
}

/**
 * The dead-letter ledger as the request functions use it (DynamoDB): one marker per queued
 * failure, one counter per source and hour. Every call takes an abort signal: the caller gives
 * each a short timeout and queues without the ledger when it cannot be reached.
 */
export interface DeadLetterLedger {
  /**
   * Claims `fingerprint` for `messageId` (state pending) unless a live marker holds it: an
   * expired one, or a pending one claimed before `staleBefore` (its sender died), is taken over.
   * Returns the marker that holds it when not claimed.
   */
  claim(
    fingerprint: string,
    claim: { messageId: string; now: number; expiresAt: number; staleBefore: number },
    signal: AbortSignal,
  ): Promise<{ claimed: true } | { claimed: false; holder?: FingerprintMarker }>;
  /** The claimed marker's message is in the queue now. */
  confirm(fingerprint: string, messageId: string, signal: AbortSignal): Promise<void>;
  /** Deletes the marker if `messageId` still holds it (replayed, refused, or could not be sent). */
  release(fingerprint: string, messageId: string, signal: AbortSignal): Promise<void>;
  /** Counts one distinct failure of `source` in `hour` if fewer than `limit` were counted; false at the cap. */
  count(source: string, hour: string, limit: number, expiresAt: number, signal: AbortSignal): Promise<boolean>;
  /** Takes back a count whose message could not be sent. */
  uncount(source: string, hour: string, signal: AbortSignal): Promise<void>;
}

/** What the ledger knows about a message id from earlier redrives (and archive moves). */
export interface MessageRecord {
  /** The current copy's revision ("" for a message never updated). */
  revision: string;
  /** `removed`: replayed (or discarded) for good; every copy still around is stale. */
  state: 'current' | 'removed';
  /** The redrive run that last replayed it (set by `finish`). */
  by?: string;
}

/**
 * Leases per message id, so overlapping redrives (and the archiver) never work on the same
 * message at once, and a record of each id's current copy, so stale copies are dropped.
 */
export interface RedriveLedger {
  /** Takes the lease on `messageId` until `until` (epoch ms) unless another owner holds a live one. */
  lease(messageId: string, owner: string, now: number, until: number): Promise<{ acquired: true; record?: MessageRecord } | { acquired: false; until: number }>;
  /** Ends the lease, recording what became of the message. False if the lease was lost to another owner. */
  finish(messageId: string, owner: string, record: MessageRecord): Promise<boolean>;
  /** Ends the lease without changing the record (dry runs, filtered out, errors). */
  unlease(messageId: string, owner: string): Promise<void>;
  /** The ledger part a redrive needs too: removing a replayed message's marker. */
  release(fingerprint: string, messageId: string, signal: AbortSignal): Promise<void>;
  /** Announces (and, called again, extends) a redrive run until `until`; `0` ends it. */
  announceRun(owner: string, until: number): Promise<void>;
  /** Whether that run is still going (announced, not ended, not expired at `now`). */
  runActive(owner: string, now: number): Promise<boolean>;
}

/** The durable archive behind the queue: messages older than the move age, kept until replayed. */
export interface DeadLetterArchive {
  /** Stores (or overwrites) the message under its id. */
  put(message: DeadLetterMessage, archivedAt: string): Promise<void>;
  /** Archived messages, oldest first, clicks before the rest; at most `limit`. */
  list(limit: number): Promise<DeadLetterMessage[]>;
  /** Replaces the archived message with its updated copy (same id). */
  update(message: DeadLetterMessage): Promise<void>;
  /** The earliest-arrived archived message (by id), if any: how long the archive has been waiting. */
  oldest(): Promise<DeadLetterMessage | undefined>;
  /** The archived message with this kind and id, if any. */
  get(key: Pick<DeadLetterMessage, 'id' | 'kind'>): Promise<DeadLetterMessage | undefined>;
  delete(key: Pick<DeadLetterMessage, 'id' | 'kind'>): Promise<void>;
}

/** Minimal structured logger; Powertools Logger satisfies it. */
export interface Log {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}
