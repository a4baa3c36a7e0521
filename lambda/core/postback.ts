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
import type { ConversionType } from '../../config/schema';
import { abs, negate } from './decimal';
import { mintId } from './ids';
import type {
  ClickReader,
  ConversionRecord,
  ConversionSource,
  ConversionStore,
  ConversionTypeSource,
  DeadLetterReason,
  DeadLetterSink,
  RawRequest,
} from './model';
import { UNATTRIBUTED_CLICK_ID } from './model';
import { InvalidInput, parsePostback, type PostbackParams } from './postback-params';

export type PostbackOutcome =
  | { status: 'recorded'; httpStatus: 200; message: string; conversion: ConversionRecord }
  | { status: 'duplicate'; httpStatus: 200; message: string; conversion: ConversionRecord }
  | { status: 'test'; httpStatus: 200; message: string; params: PostbackParams }
  | { status: 'queued'; httpStatus: 202; message: string; reason: DeadLetterReason; params: PostbackParams }
  | { status: 'rejected'; httpStatus: 400; message: string; reason: 'invalid_input'; parameter: string }
  | { status: 'unavailable'; httpStatus: 503; message: string; reason: DeadLetterReason };

export interface PostbackDeps {
  clicks: ClickReader;
  conversions: ConversionStore;
  types: ConversionTypeSource;
  deadLetters: () => DeadLetterSink;
  defaultCurrency: string;
  newId?: (now: number) => string;
}

export interface PostbackInput {
  request: RawRequest;
  now: Date;
}

/** Revenue as stored: the sign comes from the type, never from the sender. */
export function revenueFor(type: ConversionType, sum: string): string {
  switch (type.revenue) {
    case 'add':
      return abs(sum);
    case 'subtract':
      return sum === '0' ? '0' : negate(abs(sum));
    case 'ignore':
      return '0';
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export async function handlePostback(input: PostbackInput, deps: PostbackDeps): Promise<PostbackOutcome> {
  let params: PostbackParams;
  try {
    params = parsePostback(input.request);
  } catch (err) {
    if (err instanceof InvalidInput) {
      return { status: 'rejected', httpStatus: 400, reason: 'invalid_input', parameter: err.parameter, message: `Rejected: ${err.message}. Nothing was recorded.` };
    }
    throw err;
  }

  if (params.isTest) {
    return {
      status: 'test',
      httpStatus: 200,
      params,
      message:
        `Test postback received: it reached Clickvault, and nothing was recorded (${params.testReason ?? 'test'}). ` +
        'Real postbacks carry the click id Clickvault put into the offer URL.',
    };
  }

  const queue = async (reason: DeadLetterReason, detail: string, advice: string): Promise<PostbackOutcome> => {
    try {
      await deps.deadLetters().send({
        version: 1,
        id: (deps.newId ?? mintId)(Date.now()),
        kind: 'postback',
        reason,
        detail,
        receivedAt: input.now.toISOString(),
        ...(params.clickId !== undefined ? { clickId: params.clickId } : {}),
        request: input.request,
      });
    } catch (err) {
      return {
        status: 'unavailable',
        httpStatus: 503,
        reason,
        message: `Unavailable: ${detail}, and it could not be queued (${errorText(err)}). Please retry.`,
      };
    }
    return { status: 'queued', httpStatus: 202, reason, params, message: `Accepted and queued for replay: ${detail}. ${advice}` };
  };

  const typeName = params.type ?? '';
  let type: ConversionType | undefined;
  try {
    type = await deps.types.getConversionType(typeName);
  } catch (err) {
    return queue('storage_error', `conversion types could not be read (${errorText(err)})`, 'It will be recorded when it is replayed.');
  }
  if (!type) {
    return queue(
      'unknown_type',
      `unknown conversion type "${typeName}" (names are case-sensitive)`,
      'Add it to conversionTypes in the tracker config, deploy, then replay the queue.',
    );
  }

  let conversion: ConversionRecord;
  const base = {
    type: type.name,
    revenue: revenueFor(type, params.sum),
    currency: params.currency ?? deps.defaultCurrency,
    counted: type.countsAsConversion,
    source: (params.format === 'img' ? 'pixel' : 'postback') as ConversionSource,
    createdAt: input.now.toISOString(),
    ...(params.txid !== undefined ? { txid: params.txid } : {}),
    ...(params.status !== undefined ? { status: params.status } : {}),
  };
  if (params.clickId !== undefined) {
    let click;
    try {
      click = await deps.clicks.getClick(params.clickId);
    } catch (err) {
      return queue('storage_error', `the click could not be read (${errorText(err)})`, 'It will be recorded when it is replayed.');
    }
    if (!click) {
      return queue(
        'unknown_click',
        `no click with id "${params.clickId}" is stored (never made here, expired, or its own write is still queued)`,
        'Replay the queue once the click is stored.',
      );
    }
    conversion = {
      ...base,
      clickId: click.clickId,
      conversionKey: `${type.name}|${params.txid ?? ''}`,
      attributed: true,
      campaignId: click.campaignId,
      offerId: click.offerId,
      channelId: click.channelId,
    };
  } else {
    // An organic sale: counted so revenue totals match Digistore24's. Without a txid a retry
    // cannot be told from a new sale, so each one gets its own key.
    conversion = {
      ...base,
      clickId: UNATTRIBUTED_CLICK_ID,
      conversionKey: `${type.name}|${params.txid ?? `~${(deps.newId ?? mintId)(input.now.getTime())}`}`,
      attributed: false,
    };
  }

  let result;
  try {
    result = await deps.conversions.putConversion(conversion);
  } catch (err) {
    return queue('storage_error', `the conversion could not be stored (${errorText(err)})`, 'It will be recorded when it is replayed.');
  }
  if (result === 'duplicate') {
    return {
      status: 'duplicate',
      httpStatus: 200,
      conversion,
      message: `OK duplicate: ${type.name} for this click${params.txid ? ` and txid ${params.txid}` : ''} was recorded before; nothing changed.`,
    };
  }
  return { status: 'recorded', httpStatus: 200, conversion, message: 'OK' };
}
