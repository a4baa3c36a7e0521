/**
 * The silent-breakage check on DynamoDB (dynalite): clicks written through the real click store
 * (people and bots), conversions through the real recording core (a late sale for an old click,
 * a test order, the order-form pixel's InitiateCheckout, a keyless pixel naming a sale), read through the real adapters —
 * raw before the rollup upkeep ran, from rollups after — and the scheduled handler's log lines.
 */
import { parseConfig, type TrackerConfig } from '../../config/schema';
import { newStats } from '../../lambda/adapters/report-source';
import { lastCountedArrival, silencePorts } from '../../lambda/adapters/silence-source';
import type { Log } from '../../lambda/core/model';
import type { ReportReadSummary } from '../../lambda/core/report-query';
import { createSilenceCheckHandler, runSilenceCheck } from '../../lambda/handlers/silence-check';
import { CALL_BUDGETS } from '../../lambda/adapters/aws-clients';
import { createDynamoClient } from '../../lambda/adapters/dynamodb-store';
import { startBlackHole } from '../support/black-hole';
import { testConfig } from '../support/config';
import { catchUp, makeWorld, type World } from '../support/rollup-world';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);

/** demo and split: 6 hours, 3 clicks; a third campaign, quiet, with the alarm off. */
const config: TrackerConfig = (() => {
  const base = testConfig();
  return parseConfig({
    ...base,
    defaults: { ...base.defaults, silenceAlarm: { hours: 6, minClicks: 3 } },
    campaigns: [...base.campaigns, { ...base.campaigns[1], id: 'quiet', name: 'Quiet', silenceAlarm: false }],
  });
})();

let world: World;
let paidAt: number;

class Lines implements Log {
  readonly warns: { message: string; extra: Record<string, unknown> }[] = [];
  readonly infos: { message: string; extra: Record<string, unknown> }[] = [];
  info(message: string, ...extra: Record<string, unknown>[]): void {
    this.infos.push({ message, extra: Object.assign({}, ...extra) });
  }
  warn(message: string, ...extra: Record<string, unknown>[]): void {
    this.warns.push({ message, extra: Object.assign({}, ...extra) });
  }
  readonly errors: { message: string; extra: Record<string, unknown> }[] = [];
  error(message: string, ...extra: Record<string, unknown>[]): void {
    this.errors.push({ message, extra: Object.assign({}, ...extra) });
  }
}

const ports = () => silencePorts(world.client, world.tables);

beforeAll(async () => {
  // Start three days earlier, so split has an old click whose sale arrives late.
  world = await makeWorld(config, T0);
  const old = await world.click({ campaignId: 'split', subs: {}, at: T0 });
  world.now = T0 + 72 * H;
  const at = (hoursAfter: number) => T0 + 72 * H + hoursAfter * H;
  // demo: three people and five bots 2 h before the check; a test order and the order-form
  // pixel's InitiateCheckout arrive, neither of which counts.
  for (let i = 0; i < 3; i++) {
    const c = await world.click({ campaignId: 'demo', subs: {}, at: at(1) + i * 60_000 });
    if (i === 0) {
      world.now = at(2);
      expect(await world.convert({ clickId: c.clickId, type: 'payment', sum: '47.00', currency: 'EUR', txid: 'TEST-1', source: 'ipn', test: true })).toBe('recorded');
      expect(await world.convert({ clickId: c.clickId, type: 'InitiateCheckout', sum: '0', source: 'pixel' })).toBe('recorded');
      // A pixel without the key naming a type that counts (anyone holding the click id can send it).
      expect(await world.convert({ clickId: c.clickId, type: 'payment', sum: '0', source: 'pixel', keyless: true })).toBe('recorded');
    }
  }
  for (let i = 0; i < 5; i++) await world.click({ campaignId: 'demo', subs: {}, at: at(1) + i * 1000, bot: true });
  // split: three clicks too, and the sale of the 3-day-old click arrives 1 h before the check.
  for (let i = 0; i < 3; i++) await world.click({ campaignId: 'split', subs: {}, at: at(1) + i * 60_000 });
  world.now = paidAt = at(2);
  expect(await world.convert({ clickId: old.clickId, type: 'payment', sum: '47.00', currency: 'EUR', txid: 'T-LATE', source: 'postback' })).toBe('recorded');
  // quiet: clicks and no sale, but its alarm is off.
  for (let i = 0; i < 10; i++) await world.click({ campaignId: 'quiet', subs: {}, at: at(1) + i * 1000 });
  world.now = at(3);
});

describe('silence check on DynamoDB', () => {
  it('finds demo silent (bots, a test order, InitiateCheckout and a pixel do not count) and split not (its late sale arrived)', async () => {
    const log = new Lines();
    const report = await runSilenceCheck({ ports: ports(), config, log }, new Date(world.now));
    expect(report.campaigns.map((s) => [s.campaignId, s.clicks, s.silent])).toEqual([
      ['demo', 3, true],
      ['split', 3, false],
    ]);
    expect(report.campaigns[1]?.lastConversionAt).toBe(new Date(paidAt).toISOString());
    // One WARN line per silent campaign, saying what to check.
    expect(log.warns).toEqual([
      {
        message: 'silent campaign',
        extra: expect.objectContaining({ campaignId: 'demo', clicks: 3, hours: 6, minClicks: 3, detail: expect.stringMatching(/^demo: 3 clicks, no postback for 6 h — check the Digistore24 postback URL/) }),
      },
    ]);
  });

  it('reads the same answer from rollups once the upkeep rolled the hours up', async () => {
    await catchUp(world);
    const stats = newStats();
    const p = silencePorts(world.client, world.tables, stats);
    const reads: ReportReadSummary[] = [];
    const read = p.report.read;
    p.report = { ...p.report, read: async (request, sinks) => { const r = await read(request, sinks); reads.push(r); return r; } };
    const report = await runSilenceCheck({ ports: p, config, log: new Lines() }, new Date(world.now));
    expect(report.campaigns.map((s) => [s.campaignId, s.clicks, s.silent])).toEqual([
      ['demo', 3, true],
      ['split', 3, false],
    ]);
    // One report read for both (same window): the hour of the clicks from rollups, only the open hour raw.
    expect(reads).toHaveLength(1);
    expect(reads[0]?.report?.source).toBe('rollups');
    expect(reads[0]?.rawClickSpans?.map((r) => [r.from, r.to])).toEqual([
      [world.now - H, world.now],
      [world.now - H, world.now],
    ]);
    // The arrival index: one Query each (demo finds nothing; split stops at its sale).
    expect(stats.queries).toBe(2);
  });

  it('the arrival read takes a conversion that arrived exactly at the window start, not one a millisecond before it', async () => {
    const at = (t: number) => lastCountedArrival(world.client, world.tables.conversions, 'split', new Date(t));
    expect(await at(paidAt)).toBe(new Date(paidAt).toISOString());
    expect(await at(paidAt + 1)).toBeUndefined();
    // Test orders are under ~test:demo, InitiateCheckout does not count, a pixel is no postback: nothing for demo.
    expect(await lastCountedArrival(world.client, world.tables.conversions, 'demo', new Date(0))).toBeUndefined();
  });

  it('the scheduled handler logs its run and answers the report', async () => {
    const log = new Lines();
    const handler = createSilenceCheckHandler({ ports: ports(), config, log, now: () => new Date(world.now) });
    const report = await handler({}, { getRemainingTimeInMillis: () => 60_000 });
    expect(report.campaigns.filter((s) => s.silent).map((s) => s.campaignId)).toEqual(['demo']);
    expect(log.infos).toEqual([{ message: 'silence check', extra: expect.objectContaining({ campaigns: 2, silent: ['demo'] }) }]);
  });

  it('a sale arriving ends the silence at the next check', async () => {
    const clicks = await world.click({ campaignId: 'demo', subs: {}, at: world.now - H });
    world.now += 60_000;
    expect(await world.convert({ clickId: clicks.clickId, type: 'payment', sum: '47.00', currency: 'EUR', txid: 'T-NOW', source: 'postback' })).toBe('recorded');
    const report = await runSilenceCheck({ ports: ports(), config, log: new Lines() }, new Date(world.now));
    expect(report.campaigns.map((s) => [s.campaignId, s.clicks, s.silent])).toEqual([
      ['demo', 4, false],
      ['split', 3, false],
    ]);
  });

  it('a store that never answers fails the run by its deadline (no SilenceChecks: the "not running" alarm sees it)', async () => {
    const hole = await startBlackHole();
    const client = createDynamoClient(hole.url, CALL_BUDGETS.rollups);
    const log = new Lines();
    try {
      const handler = createSilenceCheckHandler({ ports: silencePorts(client, world.tables), config, log, now: () => new Date(world.now) });
      const started = Date.now();
      // Lambda says 3 s are left: the deadline is then 2.5 s, every call aborted by it.
      await expect(handler({}, { getRemainingTimeInMillis: () => 3000 })).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(6000);
      await hole.drained(2000);
      expect(log.errors.map((e) => e.message)).toEqual(['silence check failed']);
      expect(log.infos).toEqual([]);
    } finally {
      client.destroy();
      await hole.close();
    }
  });
});
