/**
 * The open hours' click parts, kept by the local server so that a report does not read the
 * clicks of the hours the upkeep has not closed yet one partition at a time (32 queries a
 * campaign: most of a dashboard report's time on the embedded store).
 *
 * A view is made from the raw clicks of every campaign, from the upkeep's `closedUntil` on, every
 * OPEN_VIEW_LOCAL_EVERY_MS. It is exact for the writes this process makes: each click write
 * through the server's DynamoDB client moves its campaign code's generation before it is sent
 * and after it is answered, and a campaign whose generation moved since the view read it is read
 * raw again until the next view. Writes by another process (`npm run redrive -- --local`) are
 * not seen that way: the view is used only while `until` — the clicks made before it are surely
 * in it — is at most OPEN_VIEW_MAX_LAG_MS behind the clock, so they show within a minute (issue
 * 14's freshness rule). In AWS there is no view: the open hours are read raw from DynamoDB.
 */
import { campaignCode } from './ids';
import type { ReportClick } from './report';
import { HOUR_MS, MAIN_DIMENSIONS, SUB_DIMENSIONS, clickPart, clicksByHour, isEmptyPart, type ClickPart } from './rollups';

/** A click made this long before `until` may be shown late by a view; the freshness rule. */
export const OPEN_VIEW_MAX_LAG_MS = 60_000;
/**
 * A click is written within this long of its time (the click handler's deadline, 1.2 s, with a
 * wide margin); a view holds every click made before its start minus this.
 */
export const CLICK_WRITE_GRACE_MS = 10_000;
/** How often the local server makes a new view. */
export const OPEN_VIEW_LOCAL_EVERY_MS = 20_000;

export interface OpenHoursView {
  /** The first hour it covers (the upkeep's closedUntil when it was made). */
  from: number;
  /** Every click made before this that any process wrote is in it (epoch ms). */
  until: number;
  /** Per campaign: the click parts of its hours from `from` on (hours without clicks absent), and its code's generation when read. */
  campaigns: ReadonlyMap<string, { generation: string; parts: ReadonlyMap<number, ClickPart> }>;
}

/** Counts the writes of click items per campaign code (the click id carries the code). */
export class ClickWriteGenerations {
  private readonly byCode = new Map<string, number>();
  private all = 0;

  /** A write of a click of `code` starts or ends; undefined: a write whose clicks are not known (every campaign). */
  bump(code: string | undefined): void {
    if (code === undefined) this.all++;
    else this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
  }

  /** Changes whenever a write that may touch this campaign's clicks starts or ends. */
  of(campaignId: string): string {
    return `${this.all}:${this.byCode.get(campaignCode(campaignId)) ?? 0}`;
  }
}

/** Reads a campaign's clicks made in [from, to) (adapters/report-source). */
export type ClickReader = (campaignId: string, from: number, to: number) => AsyncIterable<ReportClick>;

/**
 * A new view at `now` of the hours from `from` (the upkeep's closedUntil) for `campaigns`: every
 * click dimension of every hour, as the upkeep would close it.
 */
export async function makeOpenHoursView(read: ClickReader, campaigns: readonly string[], from: number, now: number, generations: ClickWriteGenerations): Promise<OpenHoursView> {
  const out = new Map<string, { generation: string; parts: Map<number, ClickPart> }>();
  const dims = [...MAIN_DIMENSIONS, ...SUB_DIMENSIONS];
  for (const campaignId of campaigns) {
    // Taken before the read: a write that ends after it moves the generation again.
    const generation = generations.of(campaignId);
    // Clicks stamped a little ahead of this clock (another machine's) are read too.
    const byHour = await clicksByHour(read(campaignId, from, now + HOUR_MS));
    const parts = new Map<number, ClickPart>();
    for (const [hour, clicks] of byHour) {
      const part = clickPart(clicks, dims);
      if (!isEmptyPart(part)) parts.set(hour, part);
    }
    out.set(campaignId, { generation, parts });
  }
  return { from, until: now - CLICK_WRITE_GRACE_MS, campaigns: out };
}

/**
 * The part of a campaign's clicks the view holds, or undefined when the campaign must be read
 * raw: the view is too old (its `until` more than OPEN_VIEW_MAX_LAG_MS behind `now`), does not
 * hold the campaign, or the campaign's clicks were written since it was read.
 */
export function viewOf(view: OpenHoursView | undefined, campaignId: string, now: number, generations: ClickWriteGenerations | undefined): OpenClicks | undefined {
  if (!view || view.until < now - OPEN_VIEW_MAX_LAG_MS) return undefined;
  const entry = view.campaigns.get(campaignId);
  if (!entry) return undefined;
  if (generations && generations.of(campaignId) !== entry.generation) return undefined;
  return { from: view.from, until: view.until, parts: entry.parts };
}

/** What a report takes from a view for one campaign: the hours from `from` on, as parts. */
export interface OpenClicks {
  from: number;
  until: number;
  parts: ReadonlyMap<number, ClickPart>;
}
