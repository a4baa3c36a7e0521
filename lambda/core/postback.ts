/**
 * Postbacks and the pixel: decide what a request means and record it at most once.
 *
 * Outcomes (each answered in plain text and logged once by the handler):
 * - recorded / duplicate -> 200 (a repeat of click id + type + txid changes nothing)
 * - test                 -> 200, nothing recorded, with the reason it is a test
 * - queued               -> 202, kept in the dead-letter queue with the reason, to be replayed
 * - rejected             -> 400, the parameter and the problem, nothing stored
 * - unavailable          -> 503, nothing could be kept: the sender should retry
 */
import { errorText, recordConversion, type ConversionDeps } from './conversion';
import type { ForwardResult } from './forward';
import { mintId } from './ids';
import type { ConversionRecord, DeadLetterReason, DeadLetterSink, RawRequest } from './model';
import { InvalidInput, parsePostback, type PostbackParams } from './postback-params';
import { quote } from './quote';


export type PostbackOutcome =
  | { status: 'recorded'; httpStatus: 200; message: string; conversion: ConversionRecord; forward?: ForwardResult }
  | { status: 'duplicate'; httpStatus: 200; message: string; conversion: ConversionRecord }
  | { status: 'test'; httpStatus: 200; message: string; params: PostbackParams }
  | { status: 'queued'; httpStatus: 202; message: string; reason: DeadLetterReason; params: PostbackParams }
  | { status: 'rejected'; httpStatus: 400; message: string; reason: 'invalid_input'; parameter: string }
  | { status: 'forbidden'; httpStatus: 403; message: string; reason: string }
  | { status: 'unavailable'; httpStatus: 503; message: string; reason: DeadLetterReason };

export interface PostbackDeps extends ConversionDeps {
  deadLetters: () => DeadLetterSink;
}

export interface PostbackInput {
  request: RawRequest;
  now: Date;
  /**
   * Set for a pixel that carries no postback key while keys are required: it may record only
   * types that neither count as a conversion nor carry revenue (InitiateCheckout), so a forged
   * pixel cannot inflate the numbers.
   */
  pixelWithoutKey?: boolean;
  /**
   * Stable id of this postback: the dead-letter message id when it is queued, and the key of an
   * organic conversion without txid. A replay passes the queued message's id, so replaying
   * twice records once.
   */
  eventId?: string;
}

/** The request as it is kept: the postback key (query `key` or path `/postback/<key>`) removed. */
export function withoutKey(request: RawRequest): RawRequest {
  const params = new URLSearchParams(request.query);
  const hadKey = params.has('key');
  params.delete('key');
  return {
    ...request,
    path: request.path.replace(/^\/postback\/[^/]+$/, '/postback'),
    query: hadKey ? params.toString() : request.query,
  };
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
  const outcome = await recordConversion(
    {
      eventId,
      type: params.type,
      sum: params.sum,
      source: params.format === 'img' ? 'pixel' : 'postback',
      ...(params.clickId !== undefined ? { clickId: params.clickId } : {}),
      ...(params.currency !== undefined ? { currency: params.currency } : {}),
      ...(params.txid !== undefined ? { txid: params.txid } : {}),
      ...(params.status !== undefined ? { status: params.status } : {}),
    },
    input.now,
    deps,
    async (reason, detail) => {
      try {
        await deps.deadLetters().send({
          version: 1,
          id: eventId,
          kind: 'postback',
          reason,
          detail,
          receivedAt: input.now.toISOString(),
          ...(params.clickId !== undefined ? { clickId: params.clickId } : {}),
          request: withoutKey(input.request),
          ...(input.pixelWithoutKey ? { pixelWithoutKey: true as const } : {}),
        });
        return { kept: true };
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
      return { status: 'recorded', httpStatus: 200, conversion: outcome.conversion, message: 'OK', ...(outcome.forward ? { forward: outcome.forward } : {}) };
    case 'duplicate': {
      const c = outcome.conversion;
      return {
        status: 'duplicate',
        httpStatus: 200,
        conversion: c,
        message: `OK duplicate: ${quote(c.type, 64)} for this click${c.txid ? ` and txid ${quote(c.txid, 128)}` : ''} was recorded before; nothing changed.`,
      };
    }
    case 'queued':
      return { status: 'queued', httpStatus: 202, reason: outcome.reason, params, message: `Accepted and queued for replay: ${outcome.detail}. ${outcome.advice}` };
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
