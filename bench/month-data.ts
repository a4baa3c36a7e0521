/**
 * A month of synthetic traffic for the benchmarks that read it (bench:report, bench:dashboard):
 * the tracker config, a deterministic generator of clicks, lander clicks and conversions, and a
 * batch writer that puts them straight into the tables (not through HTTP).
 */
import { BatchWriteItemCommand, type AttributeValue, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { parseConfig, type TrackerConfig } from '../config/schema';
import { digistore24ConversionTypes } from '../config/digistore24';
import { mintClickId } from '../lambda/core/ids';
import { UNATTRIBUTED_CLICK_ID, type ClickRecord, type ConversionRecord } from '../lambda/core/model';
import { HOUR_MS, conversionHour } from '../lambda/core/rollups';

export const DAY_MS = 86400_000;
export const CAMPAIGNS = 10;
const AD_SETS = 20;
const ADS = 10;
const PLACEMENTS = 5;
const COUNTRIES = ['DE', 'US', 'AT', 'CH', 'GB', 'FR', 'IT', 'ES', 'NL', 'BE', 'PL', 'SE', 'NO', 'DK', 'FI', 'IE', 'PT', 'CZ', 'HU', 'RO', 'CA', 'AU', 'NZ', 'BR', 'MX', 'IN', 'JP', 'ZA', 'TR', 'GR'];

/** Deterministic randomness (mulberry32), so two runs load the same month. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    /** Zipf-like: small indexes more often (a few ad sets and countries carry most traffic). */
    skewed: (n: number) => Math.min(n - 1, Math.floor(n * next() ** 2)),
    exp: (mean: number) => -Math.log(1 - next()) * mean,
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
}

export function benchConfig(): TrackerConfig {
  const ids = Array.from({ length: CAMPAIGNS }, (_, i) => `camp-${String(i + 1).padStart(2, '0')}`);
  return parseConfig({
    defaults: { currency: 'EUR', clickRetentionDays: 90 },
    trafficChannels: [
      { id: 'facebook', name: 'Facebook', clickIdParam: 'fbclid' },
      { id: 'google', name: 'Google', clickIdParam: 'gclid' },
      { id: 'tiktok', name: 'TikTok', clickIdParam: 'ttclid' },
    ],
    offers: [
      { id: 'ds24-a', name: 'A', source: 'digistore24', url: 'https://www.digistore24.com/redir/1/aff/?cid={clickid}' },
      { id: 'ds24-b', name: 'B', source: 'digistore24', url: 'https://www.digistore24.com/redir/2/aff/?cid={clickid}' },
      { id: 'ds24-c', name: 'C', source: 'digistore24', url: 'https://www.digistore24.com/redir/3/aff/?cid={clickid}' },
    ],
    campaigns: ids.map((id, i) => ({ id, name: id, trafficChannel: ['facebook', 'google', 'tiktok'][i % 3], offers: [{ offer: 'ds24-a' }, { offer: i % 2 ? 'ds24-b' : 'ds24-c' }] })),
    conversionTypes: digistore24ConversionTypes,
    // Loaded straight into the tables: no postback ever reaches this tracker.
    postbackProtection: { sources: [{ id: 'digistore24', keys: [{ generated: true }] }] },
  });
}

/** Writes items 25 at a time, `parallel` batches in flight, retrying what was not processed. */
export async function writeAll(client: DynamoDBClient, table: string, items: AsyncIterable<Record<string, AttributeValue>> | Iterable<Record<string, AttributeValue>>, parallel = 6): Promise<number> {
  let count = 0;
  let batch: WriteRequest[] = [];
  const inFlight = new Set<Promise<void>>();
  const send = async (requests: WriteRequest[]) => {
    let pending = requests;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 20) throw new Error(`could not write ${pending.length} items to ${table}`);
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
      pending = out.UnprocessedItems?.[table] ?? [];
    }
  };
  const flush = async () => {
    const p = send(batch).finally(() => inFlight.delete(p));
    inFlight.add(p);
    batch = [];
    if (inFlight.size >= parallel) await Promise.race(inFlight);
  };
  for await (const item of items) {
    batch.push({ PutRequest: { Item: item } });
    count++;
    if (batch.length === 25) await flush();
  }
  if (batch.length > 0) await flush();
  await Promise.all(inFlight);
  return count;
}

export interface Generated {
  clicks: number;
  bots: number;
  lpClicks: number;
  conversions: number;
  /** Arrival time and click hour of every conversion: how many parts each sweep would recompute. */
  arrivals: { at: number; campaign: string; hour: number }[];
}

export function* generate(config: TrackerConfig, n: number, from: number, until: number, seed: number, out: Generated): Generator<{ click?: ClickRecord; conversion?: ConversionRecord }> {
  const r = rng(seed);
  const campaigns = config.campaigns;
  const span = until - from;
  for (let i = 0; i < n; i++) {
    const ci = r.skewed(CAMPAIGNS);
    const campaign = campaigns[ci] as TrackerConfig['campaigns'][number];
    const at = from + Math.floor(((i + r.next()) / n) * span);
    const adSet = r.skewed(AD_SETS);
    const lander = ci % 2 === 0 ? `lp-${['a', 'b'][r.int(2)]}` : undefined;
    const bot = r.next() < 0.03;
    const click: ClickRecord = {
      clickId: mintClickId(campaign.id, at, r.bytes(10)),
      campaignId: campaign.id,
      offerId: campaign.offers[r.int(campaign.offers.length)]?.offer ?? 'ds24-a',
      ...(lander ? { landerId: lander } : {}),
      channelId: campaign.trafficChannel,
      createdAt: new Date(at).toISOString(),
      expiresAt: Math.floor(at / 1000) + 90 * 86400,
      subs: { sub1: `adset-${adSet + 1}`, sub2: `ad-${adSet + 1}-${r.skewed(ADS) + 1}`, sub3: `placement-${r.int(PLACEMENTS) + 1}` },
      ...(r.next() < 0.7 ? { channelClickId: `IwAR${r.bytes(24).toString('base64url')}` } : {}),
      userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      referer: 'https://m.facebook.com/',
      country: COUNTRIES[r.skewed(COUNTRIES.length)] as string,
      ip: `203.0.${r.int(256)}.0`,
      ...(ci === 3 ? { cost: (0.2 + r.int(80) / 100).toFixed(2) } : {}),
      ...(bot ? { bot: true as const } : {}),
    };
    if (lander && !bot && r.next() < 0.45) {
      click.lpClickAt = new Date(Math.min(until, at + Math.round(r.exp(40_000)))).toISOString();
      out.lpClicks++;
    }
    out.clicks++;
    if (bot) out.bots++;
    yield { click };
    if (bot || r.next() >= 0.034) continue;
    // A sale: the order form's pixel, then the payment and its initial sale; some refunded.
    const base = {
      clickId: click.clickId,
      campaignId: campaign.id,
      offerId: click.offerId,
      ...(lander ? { landerId: lander } : {}),
      channelId: click.channelId,
      ...(click.channelClickId ? { channelClickId: click.channelClickId } : {}),
      clickCreatedAt: click.createdAt,
      country: click.country,
      sub1: click.subs.sub1,
      sub2: click.subs.sub2,
      sub3: click.subs.sub3,
      attributed: true,
      source: 'postback' as const,
    };
    const paidAt = at + Math.round(r.exp(4 * HOUR_MS));
    const currency = r.next() < 0.8 ? 'EUR' : 'USD';
    const amount = ['47.00', '97.00', '27.50', '199.00'][r.int(4)] as string;
    const txid = `${100000 + i}`;
    const conversions: ConversionRecord[] = [
      { ...base, type: 'InitiateCheckout', conversionKey: 'InitiateCheckout|', revenue: '0', currency: 'EUR', counted: false, createdAt: new Date(at + Math.round(r.exp(60_000))).toISOString() },
      { ...base, type: 'payment', conversionKey: `payment|${txid}`, revenue: amount, currency, counted: true, txid, createdAt: new Date(paidAt).toISOString() },
      { ...base, type: 'initial_sale', conversionKey: `initial_sale|${txid}`, revenue: '0', currency, counted: true, txid, createdAt: new Date(paidAt).toISOString() },
    ];
    const late = r.next();
    if (late < 0.07) {
      const type = late < 0.01 ? 'chargeback' : 'refund';
      conversions.push({ ...base, type, conversionKey: `${type}|${txid}R`, revenue: `-${amount}`, currency, counted: true, txid: `${txid}R`, createdAt: new Date(paidAt + Math.round(DAY_MS * (1 + r.int(20)))).toISOString() });
    }
    if (r.next() < 0.1) {
      conversions.push({ ...base, campaignId: campaign.id, type: 'payment', conversionKey: `payment|T${txid}|test`, revenue: '1.00', currency: 'EUR', counted: true, txid: `T${txid}`, createdAt: new Date(paidAt).toISOString(), test: true });
    }
    if (r.next() < 0.05) {
      const organicAt = at + Math.round(r.exp(HOUR_MS));
      conversions.push({ clickId: UNATTRIBUTED_CLICK_ID, campaignId: UNATTRIBUTED_CLICK_ID, conversionKey: `payment|O${txid}`, type: 'payment', revenue: amount, currency, counted: true, txid: `O${txid}`, source: 'postback', attributed: false, createdAt: new Date(organicAt).toISOString() });
    }
    for (const c of conversions) {
      if (Date.parse(c.createdAt) >= until) continue; // not arrived yet
      out.conversions++;
      out.arrivals.push({ at: Date.parse(c.createdAt), campaign: c.clickId === UNATTRIBUTED_CLICK_ID ? UNATTRIBUTED_CLICK_ID : campaign.id, hour: conversionHour(c) });
      yield { conversion: c };
    }
  }
}

