/**
 * What the rollup upkeep must look at again, and when: its timing rules, its state, and the marks
 * that say "this hour changed after it was rolled up".
 *
 * Hours are rolled up once they are closed (CLOSE_AFTER_MS after their end); conversions are taken
 * in up to a cut SWEEP_MARGIN_MS behind the clock. Anything written normally is seen by those
 * reads. Three kinds of write are not, and mark their hour instead:
 * - a lander click (an update of a click whose hour may already be rolled up): the clicks
 *   table's stream in AWS, the local client's change feed under `npm start`;
 * - a click or conversion replayed from the dead-letter queue, which keeps its original time:
 *   the stores of the replay tool are wrapped (markingClickStore, markingConversionStore).
 * Marks are idempotent puts (a duplicate delivery marks again, harmlessly); the upkeep recomputes
 * the hour from the raw data and removes the mark only if nobody marked it again meanwhile.
 */
import { HOUR_MS, hourOf, hourKey } from './rollups';
import { idTime } from './ids';
import {
  UNATTRIBUTED_CLICK_ID,
  type ClickRecord,
  type ClickStore,
  type ConversionRecord,
  type ConversionStore,
  type Log,
  type PutConversionResult,
  type PutResult,
} from './model';

/** An hour is rolled up this long after it ends (clicks still being written, eventual reads). */
export const CLOSE_AFTER_MS = 10 * 60_000;
/** Conversions are taken in up to this long before now (writes in flight, index propagation). */
export const SWEEP_MARGIN_MS = 5 * 60_000;
/** A conversion is late (marks its hour) when stored this long after its own time: a replay. */
export const LATE_CONVERSION_MS = 60_000;
/** A click write counts as late from this long before its hour is closed (clock differences). */
export const CLOSE_EARLY_MS = 2 * 60_000;
/** Marks are acted on once this old (the write they stand for is visible to every read by then). */
export const MARK_SETTLE_MS = 60_000;

/** Where the upkeep is. Times are epoch ms; `cut` ISO (it is compared with conversion times). */
export interface RollupState {
  /** Rollups cover the hours from here on; earlier hours are read raw. */
  since: number;
  /** Every hour before this (and from `since`) has its click part. */
  closedUntil: number;
  /** Every conversion part holds at least the conversions that arrived before this. */
  cut: string;
}

export type MarkKey =
  /** The clicks of a campaign code's hour changed (the click id carries the code, not the campaign). */
  | { kind: 'clicks'; code: string; hour: number }
  /** The conversions of a campaign's hour changed (`~unattributed`: organic sales by arrival hour). */
  | { kind: 'conversions'; campaign: string; hour: number };

export type RollupMark = MarkKey & { version: string; markedAt: number };

export function markSortKey(mark: MarkKey): string {
  return mark.kind === 'clicks' ? `c#${mark.code}#${hourKey(mark.hour)}` : `v#${mark.campaign}#${hourKey(mark.hour)}`;
}

/** The inverse of markSortKey; undefined for anything else. */
export function markFromSortKey(sk: string): MarkKey | undefined {
  const m = /^(c|v)#(.+)#(\d{4}-\d{2}-\d{2}T\d{2})$/.exec(sk);
  if (!m) return undefined;
  const hour = Date.parse(`${m[3]}:00:00.000Z`);
  if (!Number.isFinite(hour)) return undefined;
  return m[1] === 'c' ? { kind: 'clicks', code: m[2] ?? '', hour } : { kind: 'conversions', campaign: m[2] ?? '', hour };
}

export interface RollupMarks {
  /** Marks each hour (an idempotent put per key). */
  mark(keys: readonly MarkKey[]): Promise<void>;
}

const uniqueKeys = (keys: MarkKey[]): MarkKey[] => [...new Map(keys.map((k) => [markSortKey(k), k])).values()];

/** When an hour's clicks are rolled up: a write at or after this may not have been seen. */
export const closesAt = (hourStart: number): number => hourStart + HOUR_MS + CLOSE_AFTER_MS - CLOSE_EARLY_MS;

/** The hour (and campaign code) a click id was made in; undefined for ids not minted here. */
export function clickHour(clickId: string): { code: string; hour: number } | undefined {
  if (!/^[0-9A-HJKMNP-TV-Z]{30}$/.test(clickId)) return undefined;
  const t = idTime(clickId.slice(0, 26));
  return t === undefined ? undefined : { code: clickId.slice(26), hour: hourOf(t) };
}

/**
 * The marks for clicks changed at `at` (epoch ms): the hours that may already be rolled up. A
 * change before its hour closes is read when the hour closes. What the stream says was deleted
 * (TTL) is never a change: a rollup never forgets a click.
 */
export function clickChangeMarks(changes: readonly { clickId: string; at: number }[]): MarkKey[] {
  const keys: MarkKey[] = [];
  for (const { clickId, at } of changes) {
    const made = clickHour(clickId);
    if (made && at >= closesAt(made.hour)) keys.push({ kind: 'clicks', code: made.code, hour: made.hour });
  }
  return uniqueKeys(keys);
}

/**
 * Whether a click changed after its hour closed changed what rollups count. The only such change
 * is a lander click (`/go` sets lpClickAt and the offer in one update) recorded at or after the
 * hour closed. The other change a stored click sees, its sealed address removed once its sends
 * are done, counts nothing: marking for it would recompute the hour for every sale a conversion
 * API was sent (a stream of keys cannot tell the two apart, so the marker reads lpClickAt).
 * Anything unreadable counts (a needless recompute costs little; a missed one undercounts).
 */
export function changeCounts(clickId: string, lpClickAt: string | undefined): boolean {
  const made = clickHour(clickId);
  if (!made || lpClickAt === undefined) return false;
  const t = Date.parse(lpClickAt);
  return !Number.isFinite(t) || t >= closesAt(made.hour);
}

/** The mark for a conversion stored at `at`, when it is late (a replay keeps its first arrival time). */
export function lateConversionMark(conversion: Pick<ConversionRecord, 'campaignId' | 'clickId' | 'createdAt' | 'clickCreatedAt'>, at: number): MarkKey | undefined {
  if (Date.parse(conversion.createdAt) >= at - LATE_CONVERSION_MS) return undefined;
  const organic = conversion.clickId === UNATTRIBUTED_CLICK_ID || conversion.campaignId === undefined || conversion.campaignId === UNATTRIBUTED_CLICK_ID;
  return {
    kind: 'conversions',
    campaign: organic ? UNATTRIBUTED_CLICK_ID : (conversion.campaignId as string),
    hour: hourOf(organic ? conversion.createdAt : (conversion.clickCreatedAt ?? conversion.createdAt)),
  };
}

/**
 * A click store that marks the click's hour when a click is stored after that hour was rolled up
 * (a replay from the dead-letter queue). The mark is written after the click: a failed mark is
 * logged, and the click stays stored (`npm run rollups -- --recompute` repairs by hand).
 */
export function markingClickStore<S extends ClickStore>(store: S, marks: RollupMarks, log: Log, now: () => number = Date.now): S {
  // Its other methods (a lander click's update) are the store's own: updates of a stored click
  // reach the marks through the clicks stream (locally the change feed).
  const wrapped = Object.create(store) as S;
  wrapped.putClick = async (click: ClickRecord): Promise<PutResult> => {
    const result = await store.putClick(click);
    if (result === 'stored') await markSafely(marks, clickChangeMarks([{ clickId: click.clickId, at: now() }]), log);
    return result;
  };
  return wrapped;
}

/** A conversion store that marks the conversion's hour when it is stored late (see lateConversionMark). */
export function markingConversionStore<S extends ConversionStore>(store: S, marks: RollupMarks, log: Log, now: () => number = Date.now): S {
  const wrapped = Object.create(store) as S;
  wrapped.putConversion = async (conversion: ConversionRecord, writeToken?: string): Promise<PutConversionResult> => {
    const result = await store.putConversion(conversion, writeToken);
    const late = result.status === 'stored' ? lateConversionMark(conversion, now()) : undefined;
    if (late) await markSafely(marks, [late], log);
    return result;
  };
  return wrapped;
}

async function markSafely(marks: RollupMarks, keys: MarkKey[], log: Log): Promise<void> {
  if (keys.length === 0) return;
  try {
    await marks.mark(keys);
  } catch (err) {
    log.error('rollup mark failed: these hours keep their earlier rollup until recomputed', {
      marks: keys.map(markSortKey),
      error: `${(err as Error).name}: ${(err as Error).message}`,
    });
  }
}
