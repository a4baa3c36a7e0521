/**
 * Digistore24 IPN (vendors): verify the signature, map the event to conversion types and
 * record them by the same rules as postbacks, so an IPN and an S2S postback for the same
 * transaction (same click id, type and transaction id) count once.
 *
 * Answers: exactly `OK` (200) whenever the notification is handled or deliberately ignored —
 * recorded, duplicate, connection test, test order, untracked event, or kept in the queue.
 * Digistore24 shows any `key: value` lines after `OK` to the buyer (thank-you page, order
 * e-mail, invoice), so the detail goes to `detail` (the log line and the inbound record), never
 * into the answer. 403 for a bad or missing signature (nothing stored). 503 only when nothing
 * could be kept, so that Digistore24 retries exactly then.
 */
import { createHash } from 'node:crypto';
import type { IpnConfig } from '../../config/schema';
import { conflictDetail, errorText, recordConversion, type AmountConflict, type ConversionDeps, type ConversionOutcome, type KeepResult } from './conversion';
import { acceptedCurrency } from './currencies';
import { capRefusalText, duplicateNote, fingerprintOf, keptAs } from './dead-letters';
import { parseDecimal } from './decimal';
import { isClickId, mintId } from './ids';
import { trustedFields, verifyIpnSignature, type SignatureVariant, type SignedFields } from './ipn-signature';
import type { CapRefusal, DeadLetterReason, DeadLetterSink, RawRequest } from './model';
import { isPlaceholder } from './postback-params';
import { quote } from './quote';

export const IPN_MAX_BODY = 64 * 1024;

/** The cap's source for signed IPN calls (deadLetters.maxDistinctPerHour): one, the passphrase's holder. */
export const IPN_CAP_SOURCE = 'ipn:digistore24';

/** The whole success answer: Digistore24 shows anything after it to the buyer. */
export const IPN_OK = 'OK';

export interface IpnDeps extends ConversionDeps {
  ipn: IpnConfig;
  /** The passphrase, resolved from its secret; undefined when none is configured. */
  passphrase: () => Promise<string | undefined>;
  deadLetters: () => DeadLetterSink;
}

export interface IpnInput {
  request: RawRequest;
  now: Date;
  /** Replaying a queued IPN whose signature was verified when it arrived. */
  trusted?: boolean;
  /** Stable id of this notification: the queued message's id when it is replayed. */
  eventId?: string;
}

export type IpnStatus = 'recorded' | 'duplicate' | 'queued' | 'ignored' | 'test' | 'forbidden' | 'rejected' | 'unavailable';

export interface IpnResult {
  type: string;
  outcome: ConversionOutcome['status'];
  /** Where the conversion is sent, and what became of that: `meta: queued`, `google-ads: due`. */
  send?: string;
  revenue?: string;
  currency?: string;
  counted?: boolean;
  /** Recorded as a test order (api_mode=test with recordTestOrders). */
  test?: boolean;
  /** A duplicate whose stored amount differs from this one's. */
  conflict?: AmountConflict;
  /** Queued for replay as a repeat of a failure already in the queue: nothing new was added. */
  queuedBefore?: true;
}

export interface IpnOutcome {
  status: IpnStatus;
  httpStatus: 200 | 400 | 403 | 503;
  /** Plain-text answer: exactly `OK` whenever Digistore24 should not retry. */
  message: string;
  /** What was done, for the log line and the trace (never sent to Digistore24 on success). */
  detail?: string;
  event?: string;
  clickId?: string;
  txid?: string;
  /** Which signature variant matched (absent for replays and refusals). */
  signature?: SignatureVariant;
  /** A test order (api_mode=test). */
  test?: boolean;
  /** Why it was refused, ignored or flagged (e.g. amount_conflict). */
  reason?: string;
  /** With a 503 from the per-source cap on distinct failures: when to retry (the Retry-After header). */
  retryAfterSeconds?: number;
  /** Kept for a person as a repeat of a failure already in the queue: nothing new was added. */
  queuedBefore?: true;
  results: IpnResult[];
}

/** Fields needed to replay an IPN; everything else (the buyer's data) is left out of the queue. */
const REPLAY_FIELDS = [
  'event', 'api_mode', 'order_id', 'transaction_id', 'transaction_type', 'billing_type', 'billing_status',
  'order_type', 'product_id', 'amount_brutto', 'amount_netto', 'amount_vendor', 'amount_affiliate', 'currency',
  'pay_sequence_no', 'number_of_installments', 'upsell_no', 'click_id', 'cid', 'custom', 'trackingkey', 'campaignkey',
] as const;

/** Buyer fields stored (and queued) only with storeBuyerData. */
const BUYER_FIELD = /^(email|buyer_id|address_[a-z_]+)$/;

const TXID = /^[A-Za-z0-9._:,-]{1,128}$/;

export function parseIpnForm(request: RawRequest): Map<string, string> | string {
  if (Buffer.byteLength(request.body, 'utf8') > IPN_MAX_BODY) return `body is larger than ${IPN_MAX_BODY} bytes`;
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== '' && type !== 'application/x-www-form-urlencoded') return `content-type "${quote(type, 60)}" is not form-encoded`;
  const fields = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(request.body)) {
    if (fields.has(key) && fields.get(key) !== value) return `field "${quote(key, 60)}" was given twice with different values`;
    fields.set(key, value);
  }
  return fields;
}

function answer(status: IpnStatus, httpStatus: IpnOutcome['httpStatus'], message: string, extra: Partial<IpnOutcome> = {}): IpnOutcome {
  return { status, httpStatus, message, results: [], ...extra };
}

/** Nothing was kept because the IPN source reached its cap: Digistore24 retries after the hour. */
function cappedAnswer(detail: string, refusal: CapRefusal, extra: Partial<IpnOutcome>): IpnOutcome {
  return answer('unavailable', 503, `Unavailable: ${detail}, and ${capRefusalText(refusal)}.`, {
    ...extra,
    reason: 'dead_letters_capped',
    retryAfterSeconds: refusal.retryAfterSeconds,
  });
}

const ok = (status: IpnStatus, detail: string, extra: Partial<IpnOutcome> = {}): IpnOutcome => answer(status, 200, IPN_OK, { detail, ...extra });

/** Events that are the first payment of a sale, whatever Digistore24 calls them, for the sale key. */
const SALE_EVENT: Record<string, string> = { on_payment_subscription_signup: 'on_payment' };

/**
 * What identifies a sale that has no transaction_id, so a Digistore24 retry or a replay of it
 * is one conversion: order, event, order item (product, upsell number), pay sequence number and
 * amount. Undefined without an order id (nothing then tells two such sales apart).
 */
export function ipnSaleKey(fields: SignedFields, event: string, amountText: string, currency: string | undefined): string | undefined {
  const orderId = fields.get('order_id');
  if (!orderId) return undefined;
  const parts = [orderId, SALE_EVENT[event] ?? event, fields.get('product_id') ?? '', fields.get('upsell_no') ?? '', fields.get('pay_sequence_no') ?? '', amountText, currency ?? ''];
  return `ipn-${createHash('sha256').update(parts.join('\u0000'), 'utf8').digest('base64url').slice(0, 27)}`;
}

export async function handleIpn(input: IpnInput, deps: IpnDeps): Promise<IpnOutcome> {
  const form = parseIpnForm(input.request);
  if (typeof form === 'string') return answer('rejected', 400, `Rejected: ${form}. Nothing was recorded.`, { reason: 'invalid_input' });

  let fields: SignedFields;
  let signature: SignatureVariant | undefined;
  if (input.trusted) fields = trustedFields(form);
  else {
    let passphrase: string | undefined;
    try {
      passphrase = await deps.passphrase();
    } catch (err) {
      return answer('unavailable', 503, `Unavailable: the IPN passphrase could not be read (${errorText(err)}). Please retry.`, { reason: 'passphrase_unavailable' });
    }
    if (!passphrase) {
      return answer('unavailable', 503, 'Unavailable: no IPN passphrase is configured for this tracker, so the signature cannot be checked. Please retry.', {
        reason: 'passphrase_missing',
      });
    }
    const check = verifyIpnSignature(form, passphrase);
    if (!check.valid) {
      const why =
        check.reason === 'missing_signature'
          ? 'the IPN has no sha_sign'
          : check.reason === 'key_collision'
            ? `${check.detail ?? 'two fields are one name when upper-cased'}, so an upper-case-keys signature cannot say which was signed`
            : 'sha_sign does not match the IPN passphrase';
      return answer('forbidden', 403, `Forbidden: ${why}. Nothing was recorded.`, { reason: check.reason });
    }
    fields = check.fields;
    signature = check.variant;
  }
  const signed = signature ? { signature } : {};

  const event = fields.get('event') ?? '';
  if (event === 'connection_test') return ok('test', 'connection test: the IPN reached Clickvault and its signature is valid', { event, ...signed });
  // Only a click id this tracker minted: affiliates and vendors fill `custom` and `trackingkey`
  // with their own values (`fb_summer`), which would otherwise wait in the queue as
  // unknown_click for ever instead of counting as the organic sale they are.
  let clickId: string | undefined;
  const notOurs: string[] = [];
  for (const field of deps.ipn.clickIdFields) {
    const value = fields.get(field)?.trim();
    if (!value || isPlaceholder(value)) continue;
    if (isClickId(value)) {
      clickId = value;
      break;
    }
    notOurs.push(field);
  }
  // So the trace of the click shows what was done with it, even when nothing was recorded.
  const named = { ...(clickId !== undefined ? { clickId } : {}), ...signed };
  const test = fields.get('api_mode') === 'test';
  if (test && !deps.ipn.recordTestOrders) {
    return ok('test', 'test order (api_mode=test): nothing was recorded (digistore24.ipn.recordTestOrders is off)', { event, test, ...named });
  }
  const mapping = Object.hasOwn(deps.ipn.events, event) ? deps.ipn.events[event] : undefined;
  const types = [...(mapping?.types ?? [])];
  let positionType: string | undefined;
  if (mapping?.byOrderPosition) {
    const sequence = Number(fields.get('pay_sequence_no') ?? '1');
    if (sequence <= 1) positionType = Number(fields.get('upsell_no') ?? '0') > 0 ? 'upsell' : 'initial_sale';
    if (positionType) types.push(positionType);
  }
  if (types.length === 0) return ok('ignored', `event "${quote(event, 64)}" is not tracked`, { event, reason: 'event_not_tracked', ...named });

  const txidText = fields.get('transaction_id')?.trim();
  const txid = txidText && TXID.test(txidText) ? txidText : undefined;
  const amountText = fields.get(deps.ipn.revenueField)?.trim() ?? '';
  const sum = amountText === '' ? '0' : parseDecimal(amountText);
  const currencyText = fields.get('currency')?.trim().toUpperCase() || undefined;
  const currency = acceptedCurrency(currencyText, deps.currencies);
  const statusText = fields.get('billing_status')?.trim();
  const status = statusText && /^[A-Za-z0-9_-]{1,32}$/.test(statusText) ? statusText : undefined;
  const eventId = input.eventId ?? (deps.newId ?? mintId)(Date.now());
  const saleKey = txid === undefined ? ipnSaleKey(fields, event, amountText, currency) : undefined;

  let buyer: Record<string, string> | undefined;
  if (deps.ipn.storeBuyerData) {
    buyer = {};
    for (const [key, value] of fields.entries()) if (BUYER_FIELD.test(key)) buyer[key] = value.slice(0, 256);
  }

  // One queue message per IPN, however many of its types failed: a replay re-runs them all,
  // and those already recorded are duplicates. It holds the fields as they were read here
  // (decoded, lower-case names), so the replay reads what the signature covered.
  let kept: Promise<KeepResult> | undefined;
  const keep = (reason: DeadLetterReason, detail: string): Promise<KeepResult> => {
    kept ??= (async (): Promise<KeepResult> => {
      const replay = new URLSearchParams();
      for (const name of REPLAY_FIELDS) {
        const value = fields.get(name);
        if (value !== undefined) replay.append(name, value);
      }
      if (buyer) for (const [key, value] of Object.entries(buyer)) replay.append(key, value);
      const body = replay.toString();
      try {
        const sent = await deps.deadLetters().send(
          {
            version: 1,
            id: eventId,
            kind: 'ipn',
            reason,
            detail,
            receivedAt: input.now.toISOString(),
            ...(clickId !== undefined ? { clickId } : {}),
            request: { ...input.request, body, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
            // Digistore24 retries the very same notification: its kept fields are its identity.
            fingerprint: fingerprintOf(['ipn', reason, body]),
          },
          input.trusted ? { uncapped: 'replay' } : { source: IPN_CAP_SOURCE },
        );
        return keptAs(sent);
      } catch (err) {
        return { kept: false, error: errorText(err) };
      }
    })();
    return kept;
  };

  const context = { event, ...(clickId !== undefined ? { clickId } : {}), ...(txid !== undefined ? { txid } : {}), ...(test ? { test } : {}), ...signed };
  // Signed by Digistore24, so real money that cannot be read as sent: kept for a person to look
  // at (retries would not help), and answered OK so Digistore24 does not retry it for ten days.
  const keptForAPerson = async (detail: string): Promise<IpnOutcome> => {
    const keptNow = await keep('invalid_input', detail);
    if (!keptNow.kept && 'capped' in keptNow) return cappedAnswer(detail, keptNow.capped, { ...context, reason: 'invalid_input' });
    if (!keptNow.kept) return answer('unavailable', 503, `Unavailable: ${detail}, and it could not be queued (${keptNow.error}). Please retry.`, { ...context, reason: 'invalid_input' });
    const again = keptNow.duplicateOf !== undefined ? `. ${duplicateNote(keptNow.duplicateOf)}` : '';
    return ok('queued', `kept in the dead-letter queue: ${detail}${again}`, { ...context, reason: 'invalid_input', ...(keptNow.duplicateOf !== undefined ? { queuedBefore: true as const } : {}) });
  };
  if (sum === undefined) {
    const detail = `${deps.ipn.revenueField} "${quote(amountText, 40)}" is not a decimal number`;
    return keptForAPerson(detail);
  }
  // A currency that is not accepted is never swapped for the default: that would record the
  // amount as other money. Kept like an unreadable amount, for a person to decide.
  if (currencyText !== undefined && currency === undefined) {
    const detail = deps.currencies
      ? `currency "${quote(currencyText, 16)}" is not one of this tracker's currencies (defaults.currencies: ${[...deps.currencies].join(', ')})`
      : `currency "${quote(currencyText, 16)}" is not an ISO 4217 currency code`;
    return keptForAPerson(detail);
  }

  const results: IpnResult[] = [];
  const lines: string[] = [];
  let unavailable: string | undefined;
  let capped: { detail: string; refusal: CapRefusal } | undefined;
  for (const type of types) {
    const outcome = await recordConversion(
      {
        type,
        sum,
        source: 'ipn',
        eventId,
        ...(saleKey !== undefined ? { saleKey } : {}),
        ...(test ? { test } : {}),
        ...(clickId !== undefined ? { clickId } : {}),
        ...(currency !== undefined ? { currency } : {}),
        ...(txid !== undefined ? { txid } : {}),
        ...(status !== undefined ? { status } : {}),
        ...(buyer !== undefined ? { buyer } : {}),
        // The payment carries the amount; the order-position type beside it does not.
        ...(type === positionType && types.length > 1 ? { secondary: true } : {}),
      },
      input.now,
      deps,
      keep,
    );
    const result: IpnResult = { type, outcome: outcome.status };
    if (outcome.status === 'recorded') {
      const c = outcome.conversion;
      Object.assign(result, { revenue: c.revenue, currency: c.currency, counted: c.counted, ...(c.test ? { test: true } : {}), ...(outcome.send ? { send: `${outcome.send.to}: ${outcome.send.status}` } : {}) });
      lines.push(`${type}: recorded ${c.revenue} ${c.currency}${c.test ? ' as a test order' : ''}`);
    } else if (outcome.status === 'duplicate') {
      if (outcome.conflict) {
        result.conflict = outcome.conflict;
        lines.push(`${type}: duplicate, ${conflictDetail(outcome.conflict)}`);
      } else lines.push(`${type}: duplicate, nothing changed`);
    } else if (outcome.status === 'queued') {
      if (outcome.duplicateOf !== undefined) result.queuedBefore = true;
      lines.push(`${type}: queued for replay (${outcome.detail})${outcome.duplicateOf !== undefined ? `. ${duplicateNote(outcome.duplicateOf)}` : ''}`);
    } else if (outcome.status === 'forbidden') lines.push(`${type}: refused (${outcome.detail})`);
    else if (outcome.status === 'capped') capped = { detail: `${type}: ${outcome.detail}`, refusal: outcome.refusal };
    else unavailable = `${type}: ${outcome.detail}, and it could not be queued (${outcome.error})`;
    results.push(result);
  }
  if (unavailable) return answer('unavailable', 503, `Unavailable: ${unavailable}. Please retry.`, { ...context, results });
  if (capped) return cappedAnswer(capped.detail, capped.refusal, { ...context, results });
  const overall: IpnStatus = results.some((r) => r.outcome === 'queued') ? 'queued' : results.some((r) => r.outcome === 'recorded') ? 'recorded' : 'duplicate';
  const conflict = results.some((r) => r.conflict);
  const organicWhy = clickId === undefined && notOurs.length > 0 ? `no Clickvault click id in ${notOurs.join(', ')} (organic); ` : '';
  return ok(overall, `${test ? 'test order (api_mode=test): ' : ''}${organicWhy}${lines.join('; ')}`, { ...context, results, ...(conflict ? { reason: 'amount_conflict' } : {}) });
}
