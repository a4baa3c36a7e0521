/**
 * The dashboard's API: `GET /api/report`, `/api/inbound`, `/api/trace/{clickId}`, `/api/dlq`,
 * `/api/setup`, `/api/alerts` (campaigns silent now: core/silence). Each answer is what the matching CLI prints with `--json`, from the same
 * functions (runReport, the inbound and trace reads, the dead-letter listing, the URLs), so the
 * page and the terminal cannot disagree. Reads only: nothing here writes.
 *
 * Everything in an answer that came from a request (subs, user agents, types, txids, answers)
 * is data for the page to render as text; queued requests are never sent (a postback's query may
 * hold the postback key), only what failed and why.
 */
import { countByReason, type ListedMessage, type ReasonCount } from './dead-letter-list';
import type { InboundEntry } from './model';
import { InvalidInput } from './postback-params';
import { GROUP_FIELDS, GROUP_KEYS, formatJson } from './report';
import { parseReportQuery, runReport, type ReportPorts, type ReportSettings } from './report-query';
import { NarrowRangeError, RollupsCannotAnswerError } from './report-run';
import type { SilenceReport } from './silence';

import type { ClickTrace } from './trace';
import type { TrackerConfig } from '../../config/schema';
import { digistore24Urls, type Digistore24Urls, type UrlKey } from './urls';

/** Reading a report may take this long in a web request (the API function's deadline is 25 s). */
export const REPORT_BUDGET_MS = 15_000;
/** At most this many clicks and conversions read one by one (not from rollups) per web request. */
export const REPORT_MAX_RAW_ITEMS = 500_000;

export const DASHBOARD_ROUTES = ['report', 'inbound', 'trace', 'dlq', 'setup', 'alerts'] as const;
export type DashboardRoute = (typeof DASHBOARD_ROUTES)[number];

/** One campaign's click URL and, when it has landers, the script its landers embed. */
export interface CampaignSetup {
  campaignId: string;
  name: string;
  clickUrl: string;
  /** Whether the click URL's cost= parameter counts (cost.fromUrl). */
  cost: boolean;
  /**
   * Whether t.js can track this campaign on a page (direct tracking): it has landers (their
   * origins may call the JSON click) or the config allows other pages (`corsOrigins`).
   */
  directTracking: boolean;
  /** The campaign's landers: the page each lander's visitors are sent to (URL template). */
  landers: { landerId: string; name: string; url: string }[];
}

export interface SetupInfo {
  /** Where the tracker answers: `https://TRACKING_DOMAIN` or `http://127.0.0.1:PORT`. */
  baseUrl: string;
  urls: Digistore24Urls;
  /** Whether the S2S URLs carry the real key (else a placeholder says where it lives). */
  keyShown: boolean;
  ipnConfigured: boolean;
  /** The direct-tracking script for landers: `<script src="{scriptUrl}" data-campaign="..." async>`. */
  scriptUrl: string;
  /** A lander's call-to-action link; t.js fills in the click id (else the lander puts it after `=`). */
  goUrl: string;
  campaigns: CampaignSetup[];
  warnings: string[];
}

export interface DashboardPorts {
  report: ReportPorts;
  settings: ReportSettings;
  /** The latest inbound postbacks, pixels and IPNs, newest first. */
  recentInbound(limit: number, now: Date): Promise<InboundEntry[]>;
  trace(clickId: string): Promise<ClickTrace>;
  /** What waits in the queue and the archive (one entry per message). */
  deadLetters(limit: number): Promise<ListedMessage[]>;
  setup(): Promise<SetupInfo>;
  /** The silent-breakage check at `now` (core/silence checkSilence), bounded by `deadline` (epoch ms). */
  alerts(now: Date, deadline: number): Promise<SilenceReport>;
}

export interface ApiAnswer {
  status: number;
  /** The JSON text of the answer. */
  json: string;
}

const CLICK_ID = /^[A-Za-z0-9._,~-]{1,64}$/;
export const INBOUND_LIMIT = { default: 50, max: 500 } as const;
/** Messages read per dead-letter view (the counts say when there are more). */
export const DLQ_LIMIT = 300;

function intParam(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d{1,6}$/.test(value)) throw new InvalidInput(name, `must be a whole number from 1 to ${max}`);
  const n = Number(value);
  if (n < 1 || n > max) throw new InvalidInput(name, `must be a whole number from 1 to ${max}`);
  return n;
}

const json = (status: number, body: unknown): ApiAnswer => ({ status, json: JSON.stringify(body) });

/** A dead letter as the page shows it: what failed and why, never the stored request. */
export function publicDeadLetter(m: ListedMessage | (ClickTrace['queued'][number])) {
  return {
    id: m.id,
    kind: m.kind,
    reason: m.reason,
    detail: m.detail,
    receivedAt: m.receivedAt,
    place: m.place ?? 'queue',
    attempts: m.attempts ?? 0,
    ...(m.clickId ? { clickId: m.clickId } : {}),
  };
}

/**
 * Answers one API route. `params`: the query string's parameters (and `clickId` from the path).
 * A bad parameter is a 400 naming it; nothing else is caught here (the handler logs a 500).
 */
export async function answerDashboard(route: DashboardRoute, params: Readonly<Record<string, string | undefined>>, ports: DashboardPorts, now: Date = new Date()): Promise<ApiAnswer> {
  try {
    switch (route) {
      case 'report': {
        // A web request's report is bounded (core/report-run limits): what rollups do not hold is
        // read one by one, and past the bound the answer says to narrow the range instead of
        // running into the function's deadline (HANDLER_DEADLINE_MS.dashboardApi, 25 s).
        const query = { ...parseReportQuery(params, now), limits: { maxRawItems: REPORT_MAX_RAW_ITEMS, deadline: Date.now() + REPORT_BUDGET_MS } };
        const result = await runReport(query, ports.settings, ports.report, now);
        // rows and chart exactly as `npm run report -- --json` writes them (exact decimals).
        const meta = JSON.stringify({
          query: { from: query.fromDay, to: query.toDay, tz: query.timeZone, by: query.by, filter: query.filter, tests: query.includeTests },
          groupKeys: GROUP_KEYS,
          groupFields: GROUP_FIELDS,
          costCurrency: ports.settings.costCurrency,
          ...(result.notice ? { notice: result.notice } : {}),
          catalog: result.catalog,
          read: {
            clicks: result.read.clicks,
            conversions: result.read.conversions,
            tests: result.read.tests,
            queries: result.read.stats.queries,
            ...(result.read.report ? { source: result.read.report.source } : {}),
            ...(result.read.report?.openHoursUntil ? { openHoursUntil: result.read.report.openHoursUntil } : {}),
          },
        });
        return { status: 200, json: `${meta.slice(0, -1)},"rows":${formatJson(result.rows)},"chart":${formatJson(result.chart)},"totals":${result.totals ? formatJson([result.totals]).slice(1, -1) : 'null'}}` };
      }
      case 'inbound': {
        const limit = intParam(params.limit, 'limit', INBOUND_LIMIT.default, INBOUND_LIMIT.max);
        return json(200, { entries: await ports.recentInbound(limit, now) });
      }
      case 'trace': {
        const clickId = params.clickId ?? '';
        if (!CLICK_ID.test(clickId)) throw new InvalidInput('clickId', 'is not a click id (letters, digits and . _ , ~ -, at most 64)');
        const trace = await ports.trace(clickId);
        return json(200, { ...trace, found: trace.click !== undefined || trace.inbound.length > 0 || trace.conversions.length > 0, queued: trace.queued.map(publicDeadLetter) });
      }
      case 'dlq': {
        const messages = await ports.deadLetters(DLQ_LIMIT);
        const reasons: ReasonCount[] = countByReason(messages);
        return json(200, { total: messages.length, complete: messages.length < DLQ_LIMIT, reasons, messages: messages.slice(-100).reverse().map(publicDeadLetter) });
      }
      case 'setup':
        return json(200, await ports.setup());
      case 'alerts': {
        // Every campaign whose alarm is on, with its clicks and whether it is silent now.
        const report = await ports.alerts(now, Date.now() + REPORT_BUDGET_MS);
        return json(200, { ...report, silent: report.campaigns.filter((c) => c.silent).length });
      }
      default: {
        const never: never = route;
        return json(404, { error: `no route ${String(never)}` });
      }
    }
  } catch (err) {
    if (err instanceof InvalidInput) return json(400, { error: err.message, parameter: err.parameter });
    if (err instanceof NarrowRangeError || err instanceof RollupsCannotAnswerError) return json(422, { error: err.message });
    throw err;
  }
}

/**
 * The setup view: the Digistore24 URLs (the S2S ones with the key), each campaign's click URL,
 * and for campaigns t.js can track, the lander script and the landers' pages. `base` is the tracking origin (`https://trk.example.com`), or '' when only the page knows
 * it (a stack without a custom domain: the dashboard is served from that very origin, and puts
 * it in front of these paths).
 */
export function buildSetup(base: string, config: TrackerConfig, key: UrlKey, warnings: string[] = []): SetupInfo {
  return {
    baseUrl: base,
    urls: digistore24Urls(base, key),
    keyShown: key !== undefined && 'value' in key,
    ipnConfigured: config.digistore24?.ipn !== undefined,
    scriptUrl: `${base}/t.js`,
    goUrl: `${base}/go?clickid=`,
    campaigns: config.campaigns.map((c) => {
      const landers = (c.landers ?? []).flatMap((ref) => {
        const lander = config.landers.find((l) => l.id === ref.lander);
        return lander ? [{ landerId: lander.id, name: lander.name, url: lander.url }] : [];
      });
      return {
        campaignId: c.id,
        name: c.name,
        clickUrl: `${base}/click/${encodeURIComponent(c.id)}`,
        cost: c.cost?.fromUrl === true,
        directTracking: landers.length > 0 || config.corsOrigins.length > 0,
        landers,
      };
    }),
    warnings,
  };
}
