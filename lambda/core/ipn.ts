/**
 * Digistore24 IPN (vendors): verify the signature, map the event to conversion types and
 * record them by the same rules as postbacks, so an IPN and an S2S postback for the same
 * transaction (same click id, type and transaction id) count once.
 *
 * Answers: `OK ...` (200) whenever the notification is handled or deliberately ignored —
 * recorded, duplicate, connection test, untracked event, or kept in the queue. 403 for a bad
 * or missing signature (nothing stored). 503 only when nothing could be kept, so that
 * Digistore24 retries exactly then.
 */
import type { IpnConfig } from '../../config/schema';
import { errorText, recordConversion, type ConversionDeps, type ConversionOutcome, type KeepResult } from './conversion';
import { acceptedCurrency } from './currencies';
import { parseDecimal } from './decimal';
import { mintId } from './ids';
import { verifyIpnSignature } from './ipn-signature';
import type { DeadLetterReason, DeadLetterSink, RawRequest } from './model';
import { isPlaceholder } from './postback-params';

export const IPN_MAX_BODY = 64 * 1024;

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
}

export type IpnStatus = 'recorded' | 'duplicate' | 'queued' | 'ignored' | 'test' | 'forbidden' | 'rejected' | 'unavailable';

export interface IpnOutcome {
  status: IpnStatus;
  httpStatus: 200 | 400 | 403 | 503;
  /** Plain-text answer; starts with OK whenever Digistore24 should not retry. */
  message: string;
  event?: string;
  clickId?: string;
  txid?: string;
  /** Why it was refused or ignored. */
  reason?: string;
  results: { type: string; outcome: ConversionOutcome['status']; forward?: string; revenue?: string; currency?: string; counted?: boolean }[];
}

/** Fields needed to replay an IPN; everything else (the buyer's data) is left out of the queue. */
const REPLAY_FIELDS = new Set([
  'event', 'api_mode', 'order_id', 'transaction_id', 'transaction_type', 'billing_type', 'billing_status',
  'order_type', 'product_id', 'amount_brutto', 'amount_netto', 'amount_vendor', 'amount_affiliate', 'currency',
  'pay_sequence_no', 'number_of_installments', 'upsell_no', 'cid', 'custom', 'trackingkey', 'campaignkey',
]);

/** Buyer fields stored (and queued) only with storeBuyerData. */
const BUYER_FIELD = /^(email|buyer_id|address_[a-z_]+)$/;

const CLICK_ID = /^[A-Za-z0-9._,-]{1,64}$/;
const TXID = /^[A-Za-z0-9._:,-]{1,128}$/;

export function parseIpnForm(request: RawRequest): Map<string, string> | string {
  if (Buffer.byteLength(request.body, 'utf8') > IPN_MAX_BODY) return `body is larger than ${IPN_MAX_BODY} bytes`;
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== '' && type !== 'application/x-www-form-urlencoded') return `content-type "${type.slice(0, 60)}" is not form-encoded`;
  const fields = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(request.body)) {
    if (fields.has(key) && fields.get(key) !== value) return `field ${key.slice(0, 60)} was given twice with different values`;
    fields.set(key, value);
  }
  return fields;
}

function answer(status: IpnStatus, httpStatus: IpnOutcome['httpStatus'], message: string, extra: Partial<IpnOutcome> = {}): IpnOutcome {
  return { status, httpStatus, message, results: [], ...extra };
}

export async function handleIpn(input: IpnInput, deps: IpnDeps): Promise<IpnOutcome> {
  const fields = parseIpnForm(input.request);
  if (typeof fields === 'string') return answer('rejected', 400, `Rejected: ${fields}. Nothing was recorded.`, { reason: 'invalid_input' });

  if (!input.trusted) {
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
    const check = verifyIpnSignature(fields, passphrase);
    if (!check.valid) {
      const why = check.reason === 'missing_signature' ? 'the IPN has no sha_sign' : 'sha_sign does not match the IPN passphrase';
      return answer('forbidden', 403, `Forbidden: ${why}. Nothing was recorded.`, { reason: check.reason });
    }
  }

  const event = fields.get('event') ?? '';
  if (event === 'connection_test') return answer('test', 200, 'OK connection test: the IPN reached Clickvault and its signature is valid.', { event });
  if (fields.get('api_mode') === 'test') {
    return answer('test', 200, `OK test order (api_mode=test): nothing was recorded.`, { event });
  }
  const mapping = deps.ipn.events[event];
  const types = [...(mapping?.types ?? [])];
  let positionType: string | undefined;
  if (mapping?.byOrderPosition) {
    const sequence = Number(fields.get('pay_sequence_no') || '1');
    if (sequence <= 1) positionType = Number(fields.get('upsell_no') || '0') > 0 ? 'upsell' : 'initial_sale';
    if (positionType) types.push(positionType);
  }
  if (types.length === 0) return answer('ignored', 200, `OK ignored: event "${event.slice(0, 64)}" is not tracked.`, { event, reason: 'event_not_tracked' });

  let clickId: string | undefined;
  for (const field of deps.ipn.clickIdFields) {
    const value = fields.get(field)?.trim();
    if (value && !isPlaceholder(value) && CLICK_ID.test(value)) {
      clickId = value;
      break;
    }
  }
  const txidText = fields.get('transaction_id')?.trim();
  const txid = txidText && TXID.test(txidText) ? txidText : undefined;
  const amountText = fields.get(deps.ipn.revenueField)?.trim() ?? '';
  const sum = amountText === '' ? '0' : parseDecimal(amountText);
  const currencyText = fields.get('currency')?.trim().toUpperCase();
  const currency = acceptedCurrency(currencyText, deps.currencies);
  const statusText = fields.get('billing_status')?.trim();
  const status = statusText && /^[A-Za-z0-9_-]{1,32}$/.test(statusText) ? statusText : undefined;

  let buyer: Record<string, string> | undefined;
  if (deps.ipn.storeBuyerData) {
    buyer = {};
    for (const [key, value] of fields) if (BUYER_FIELD.test(key) && value !== '') buyer[key] = value.slice(0, 256);
  }

  // One queue message per IPN, however many of its types failed: a replay re-runs them all,
  // and those already recorded are duplicates.
  let kept: Promise<KeepResult> | undefined;
  const keep = (reason: DeadLetterReason, detail: string): Promise<KeepResult> => {
    kept ??= (async (): Promise<KeepResult> => {
      const replay = new URLSearchParams();
      for (const [key, value] of fields) if (REPLAY_FIELDS.has(key) || (deps.ipn.storeBuyerData && BUYER_FIELD.test(key))) replay.append(key, value);
      try {
        await deps.deadLetters().send({
          version: 1,
          id: (deps.newId ?? mintId)(Date.now()),
          kind: 'ipn',
          reason,
          detail,
          receivedAt: input.now.toISOString(),
          ...(clickId !== undefined ? { clickId } : {}),
          request: { ...input.request, body: replay.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        });
        return { kept: true };
      } catch (err) {
        return { kept: false, error: errorText(err) };
      }
    })();
    return kept;
  };

  if (sum === undefined) {
    // Signed by Digistore24, so real money: kept for a person to look at (retries would not
    // help), and answered OK so Digistore24 does not retry it for ten days.
    const detail = `${deps.ipn.revenueField} "${amountText.slice(0, 40)}" is not a decimal number`;
    const kept = await keep('invalid_input', detail);
    if (!kept.kept) return answer('unavailable', 503, `Unavailable: ${detail}, and it could not be queued (${kept.error}). Please retry.`, { event, reason: 'invalid_input' });
    return answer('queued', 200, `OK\nkept in the dead-letter queue: ${detail}`, { event, reason: 'invalid_input', ...(clickId !== undefined ? { clickId } : {}) });
  }

  const results: IpnOutcome['results'] = [];
  const lines: string[] = [];
  let unavailable: string | undefined;
  for (const type of types) {
    const outcome = await recordConversion(
      {
        type,
        sum,
        source: 'ipn',
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
    results.push({
      type,
      outcome: outcome.status,
      ...(outcome.status === 'recorded'
        ? { revenue: outcome.conversion.revenue, currency: outcome.conversion.currency, counted: outcome.conversion.counted, ...(outcome.forward ? { forward: outcome.forward.status } : {}) }
        : {}),
    });
    if (outcome.status === 'recorded') lines.push(`${type}: recorded`);
    else if (outcome.status === 'duplicate') lines.push(`${type}: duplicate, nothing changed`);
    else if (outcome.status === 'queued') lines.push(`${type}: queued for replay (${outcome.detail})`);
    else if (outcome.status === 'forbidden') lines.push(`${type}: refused (${outcome.detail})`);
    else unavailable = `${type}: ${outcome.detail}, and it could not be queued (${outcome.error})`;
  }
  const context = { event, results, ...(clickId !== undefined ? { clickId } : {}), ...(txid !== undefined ? { txid } : {}) };
  if (unavailable) return answer('unavailable', 503, `Unavailable: ${unavailable}. Please retry.`, context);
  const overall: IpnStatus = results.some((r) => r.outcome === 'queued') ? 'queued' : results.some((r) => r.outcome === 'recorded') ? 'recorded' : 'duplicate';
  return answer(overall, 200, `OK\n${lines.join('\n')}`, context);
}
