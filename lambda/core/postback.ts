/**
 * Postbacks and the pixel: decide what a request means and record it at most once.
 *
 * Outcomes (each answered in plain text and logged once by the handler):
 * - recorded / duplicate -> 200 (a repeat of click id + type + txid changes nothing)
 * - test                 -> 200, nothing recorded, with the reason it is a test
 * - queued               -> 202, kept in the dead-letter queue with the reason, to be replayed
 *                           (also when the same failing request was queued before: one message)
 * - rejected             -> 400, the parameter and the problem, nothing stored
 * - unavailable          -> 503, nothing could be kept: the sender should retry
 * - capped               -> 503 + Retry-After, not kept: its source reached
 *                           deadLetters.maxDistinctPerHour distinct failures this hour
 */
import { errorText, recordConversion, type AmountConflict, type ConversionDeps } from './conversion';
import type { SendNotice } from './conversion';
import { capRefusalText, capSource, duplicateNote, fingerprintOf, keptAs } from './dead-letters';
import { mintId } from './ids';
import type { ConversionRecord, DeadLetterOrigin, DeadLetterReason, DeadLetterSink, RawRequest } from './model';
import { InvalidInput, parsePostback, type PostbackParams } from './postback-params';
import { quote } from './quote';


export type PostbackOutcome =
  | { status: 'recorded'; httpStatus: 200; message: string; conversion: ConversionRecord; send?: SendNotice }
  | { status: 'duplicate'; httpStatus: 200; message: string; conversion: ConversionRecord; conflict?: AmountConflict }
  | { status: 'test'; httpStatus: 200; message: string; params: PostbackParams }
  | { status: 'queued'; httpStatus: 202; message: string; reason: DeadLetterReason; params: PostbackParams; duplicateOf?: string }
  | { status: 'rejected'; httpStatus: 400; message: string; reason: 'invalid_input'; parameter: string }
  | { status: 'forbidden'; httpStatus: 403; message: string; reason: string }
  | { status: 'unavailable'; httpStatus: 503; message: string; reason: DeadLetterReason }
  | { status: 'capped'; httpStatus: 503; message: string; reason: DeadLetterReason; params: PostbackParams; source: string; retryAfterSeconds: number };

export interface PostbackDeps extends ConversionDeps {
  deadLetters: () => DeadLetterSink;
}

export interface PostbackInput {
  request: RawRequest;
  now: Date;
  /**
   * Set for a pixel that carries no valid postback key (it runs in the buyer's browser, which
   * cannot keep a secret). It may record only types that neither count as a conversion nor carry
   * revenue (InitiateCheckout), only for a click that is stored, at most once per click and type
   * (its txid, status, amount and currency are not used), never forwarded, and never as an
   * organic conversion: a forged pixel cannot inflate numbers, storage or a channel's counts.
   */
  pixelWithoutKey?: boolean;
  /**
   * Set for a postback accepted without a valid key (postbackProtection `required: false`, or no
   * protection at all): recorded as before, but never sent to an ad platform's conversion API —
   * an anonymous request must not be able to teach the user's Meta, TikTok or Google Ads bidding a
   * forged sale. (A channel's generic postback URL still gets it, as the user chose.)
   */
  unauthenticated?: boolean;
  /**
   * Stable id of this postback: the dead-letter message id when it is queued, and the key of an
   * organic conversion without txid. A replay passes the queued message's id, so replaying
   * twice records once.
   */
  eventId?: string;
  /**
   * Who sent it, for the cap on distinct failures per source: the postback protection source
   * that authenticated it, and the sender's address (keyless requests are counted per network).
   * `replay`: a redrive (never capped). Absent: counted under the unknown network.
   */
  sender?: { protectionSource?: string; ip?: string } | 'replay';
}

/** Where a failure of this request is counted (core/dead-letters capSource). */
export function postbackOrigin(sender: PostbackInput['sender']): DeadLetterOrigin {
  return sender === 'replay' ? { uncapped: 'replay' } : { source: capSource(sender ?? {}) };
}

/** The postback key a request carries: the path `/postback/<key>`, else the query's, else the body's `key`. */
export function keyOf(request: RawRequest, pathKey?: string): string | undefined {
  if (pathKey !== undefined && pathKey !== '') return pathKey;
  const fromQuery = new URLSearchParams(request.query).get('key');
  if (fromQuery !== null) return fromQuery;
  const body = bodyParams(request);
  if (body === undefined) return undefined;
  const fromBody = body instanceof URLSearchParams ? body.get('key') : body.key;
  return typeof fromBody === 'string' ? fromBody : undefined;
}

/** The body as form parameters or a JSON object; undefined when it is neither (or empty). */
function bodyParams(request: RawRequest): URLSearchParams | Record<string, unknown> | undefined {
  if (request.body === '') return undefined;
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json' || (type === '' && request.body.trimStart().startsWith('{'))) {
    try {
      const parsed: unknown = JSON.parse(request.body);
      return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
  return new URLSearchParams(request.body);
}

/**
 * The request as it is kept (dead-letter queue): the postback key removed wherever it was sent
 * — the path `/postback/<key>`, the query, a form body or a JSON body.
 */
export function withoutKey(request: RawRequest): RawRequest {
  const params = new URLSearchParams(request.query);
  const hadKey = params.has('key');
  params.delete('key');
  let body = request.body;
  const parsed = bodyParams(request);
  if (parsed instanceof URLSearchParams) {
    if (parsed.has('key')) {
      parsed.delete('key');
      body = parsed.toString();
    }
  } else if (parsed !== undefined && 'key' in parsed) {
    const { key: _key, ...rest } = parsed;
    body = JSON.stringify(rest);
  } else if (parsed === undefined && /(^|[^A-Za-z0-9_])key([^A-Za-z0-9_]|$)/.test(request.body)) {
    // A body that parses as neither but names a key: keep none of it rather than risk the secret.
    body = '';
  }
  return {
    ...request,
    path: request.path.replace(/^\/postback\/[^/]+$/, '/postback'),
    query: hadKey ? params.toString() : request.query,
    body,
  };
}

/** `23.50 EUR, this one says 47 EUR` */
export function conflictText(conflict: AmountConflict): string {
  return `${conflict.stored.revenue} ${conflict.stored.currency}, this one says ${conflict.sent.revenue} ${conflict.sent.currency}`;
}

export async function handlePostback(input: PostbackInput, deps: PostbackDeps): Promise<PostbackOutcome> {
  let params: PostbackParams;
  try {
    params = parsePostback(input.request, deps.currencies ? { currencies: deps.currencies } : {});
  } catch (err) {
    if (err instanceof InvalidInput) {
      return { status: 'rejected', httpStatus: 400, reason: 'invalid_input', parameter: err.parameter, message: `Rejected: ${err.message}. Nothing was recorded.` };
    }
    throw err;
  }

  if (params.isTest || params.type === undefined) {
    return {
      status: 'test',
      httpStatus: 200,
      params,
      message:
        `Test postback received: it reached Clickvault, and nothing was recorded (${params.testReason ?? 'test'}). ` +
        'Real postbacks carry the click id Clickvault put into the offer URL.',
    };
  }

  const eventId = input.eventId ?? (deps.newId ?? mintId)(Date.now());
  const keyless = input.pixelWithoutKey === true;
  if (keyless && params.clickId === undefined) {
    return {
      status: 'forbidden',
      httpStatus: 403,
      reason: 'pixel_without_key',
      message: 'Forbidden: a pixel without the postback key must name a stored click (clickid); organic pixel conversions are not recorded. Nothing was recorded.',
    };
  }
  const outcome = await recordConversion(
    keyless
      ? // Only the click and the type are taken from a keyless pixel: one item per click and type.
        { type: params.type, sum: '0', source: 'pixel', keyless: true, ...(params.clickId !== undefined ? { clickId: params.clickId } : {}) }
      : {
          eventId,
          type: params.type,
          sum: params.sum,
          source: params.format === 'img' ? 'pixel' : 'postback',
          ...(params.clickId !== undefined ? { clickId: params.clickId } : {}),
          ...(params.currency !== undefined ? { currency: params.currency } : {}),
          ...(params.txid !== undefined ? { txid: params.txid } : {}),
          ...(params.status !== undefined ? { status: params.status } : {}),
          ...(input.unauthenticated ? { unauthenticated: true as const } : {}),
        },
    input.now,
    deps,
    async (reason, detail) => {
      // The failure's identity is the conversion's (click id + type + txid), so a repeat is one
      // message. An organic sale without txid is a new sale each time: never deduped. A keyless
      // pixel is one conversion per click and type whatever txid it sends, so its txid is no
      // part of its identity (distinct txids cannot make distinct failures of it).
      const identified = params.clickId !== undefined || params.txid !== undefined;
      const txid = keyless ? undefined : params.txid;
      const unauthenticated = input.unauthenticated === true && !keyless;
      try {
        const sent = await deps.deadLetters().send(
          {
            version: 1,
            id: eventId,
            kind: 'postback',
            reason,
            detail,
            receivedAt: input.now.toISOString(),
            ...(params.clickId !== undefined ? { clickId: params.clickId } : {}),
            request: withoutKey(input.request),
            ...(input.pixelWithoutKey ? { pixelWithoutKey: true as const } : {}),
            ...(unauthenticated ? { unauthenticated: true as const } : {}),
            // An unauthenticated copy must not stand for a keyed one (its replay would never be sent on).
            ...(identified ? { fingerprint: fingerprintOf(['postback', reason, params.clickId, params.type, txid, keyless, ...(unauthenticated ? ['unauthenticated'] : [])]) } : {}),
          },
          postbackOrigin(input.sender),
        );
        return keptAs(sent);
      } catch (err) {
        return { kept: false, error: errorText(err) };
      }
    },
    input.pixelWithoutKey
      ? (type) =>
          type === undefined
            ? `a pixel without the postback key may only record known types, and "${quote(params.type ?? '', 64)}" is not one`
            : type.countsAsConversion || type.revenue !== 'ignore'
              ? `a pixel without the postback key may only record types that neither count nor carry revenue, and "${quote(type.name, 64)}" does`
              : undefined
      : undefined,
  );

  switch (outcome.status) {
    case 'recorded':
      return { status: 'recorded', httpStatus: 200, conversion: outcome.conversion, message: 'OK', ...(outcome.send ? { send: outcome.send } : {}) };
    case 'duplicate': {
      const c = outcome.conversion;
      const before = `${quote(c.type, 64)} for this click${c.txid ? ` and txid ${quote(c.txid, 128)}` : ''} was recorded before`;
      const conflict = outcome.conflict;
      return {
        status: 'duplicate',
        httpStatus: 200,
        conversion: c,
        ...(conflict ? { conflict } : {}),
        message: conflict
          ? `OK duplicate: ${before} with ${conflictText(conflict)}; the first amount stays (amount_conflict).`
          : `OK duplicate: ${before}; nothing changed.`,
      };
    }
    case 'queued':
      return {
        status: 'queued',
        httpStatus: 202,
        reason: outcome.reason,
        params,
        message: `Accepted and queued for replay: ${outcome.detail}. ${outcome.duplicateOf !== undefined ? `${duplicateNote(outcome.duplicateOf)} ` : ''}${outcome.advice}`,
        ...(outcome.duplicateOf !== undefined ? { duplicateOf: outcome.duplicateOf } : {}),
      };
    case 'capped':
      return {
        status: 'capped',
        httpStatus: 503,
        reason: outcome.reason,
        params,
        source: outcome.refusal.source,
        retryAfterSeconds: outcome.refusal.retryAfterSeconds,
        message: `Unavailable: ${outcome.detail}, and ${capRefusalText(outcome.refusal)}.`,
      };
    case 'forbidden':
      return { status: 'forbidden', httpStatus: 403, reason: 'pixel_without_key', message: `Forbidden: ${outcome.detail}. Nothing was recorded.` };
    case 'unavailable':
      return {
        status: 'unavailable',
        httpStatus: 503,
        reason: outcome.reason,
        message: `Unavailable: ${outcome.detail}, and it could not be queued (${outcome.error}). Please retry.`,
      };
  }
}
