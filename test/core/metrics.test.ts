import { archiveMetrics, CLICKS_BATCH, CLICKS_FLUSH_MS, clickMetrics, ipnMetrics, postbackMetrics, publish, sendMetrics } from '../../lambda/metrics';
import type { ConversionRecord } from '../../lambda/core/model';
import { landerMetrics } from '../../lambda/handlers/lander';
import type { PostbackParams } from '../../lambda/core/postback-params';

const conversion: ConversionRecord = {
  clickId: 'C', conversionKey: 'payment|T', type: 'payment', revenue: '47.5', currency: 'EUR', counted: true, source: 'postback', createdAt: '', attributed: true,
};

describe('metric points', () => {
  it('counts clicks, queued and lost clicks, and unknown campaigns', () => {
    const click = { clickId: 'C', campaignId: 'demo', offerId: 'o', channelId: 'c', createdAt: '', expiresAt: 0, subs: {} };
    expect(clickMetrics({ kind: 'redirect', location: '', click, stored: 'stored' }).map((p) => p.name)).toEqual(['Clicks']);
    expect(clickMetrics({ kind: 'redirect', location: '', click, stored: 'queued' }).map((p) => p.name)).toEqual(['Clicks', 'ClicksQueued']);
    expect(clickMetrics({ kind: 'redirect', location: '', click, stored: 'lost' }).map((p) => p.name)).toEqual(['Clicks', 'ClicksLost']);
    expect(clickMetrics({ kind: 'not_found', message: '' })).toEqual([{ name: 'Rejected', value: 1, unit: 'Count', dimension: { name: 'reason', value: 'unknown_campaign' } }]);
  });

  it('counts a bot as a bot, never as a click; a prefetch and a refused page each on their own', () => {
    const click = { clickId: 'C', campaignId: 'demo', channelId: 'c', createdAt: '', expiresAt: 0, subs: {} };
    expect(clickMetrics({ kind: 'redirect', location: '', click: { ...click, bot: true, botReason: 'user_agent' }, stored: 'stored' }).map((p) => p.name)).toEqual(['Bots']);
    expect(clickMetrics({ kind: 'prefetch' }).map((p) => p.name)).toEqual(['Prefetches']);
    expect(clickMetrics({ kind: 'origin_refused', origin: 'https://x.example', json: true })).toEqual([{ name: 'Rejected', value: 1, unit: 'Count', dimension: { name: 'reason', value: 'origin_not_allowed' } }]);
    expect(landerMetrics({ kind: 'redirect', location: '', offerId: 'o', recorded: 'recorded' }).map((p) => p.name)).toEqual(['LanderClicks']);
    expect(landerMetrics({ kind: 'redirect', location: '', offerId: 'o', recorded: 'repeat' })).toEqual([]);
    expect(landerMetrics({ kind: 'redirect', location: '', offerId: 'o', recorded: 'queued' }).map((p) => p.name)).toEqual(['LanderClicksQueued']);
    expect(landerMetrics({ kind: 'rejected', parameter: 'clickid', message: '' })[0]).toMatchObject({ name: 'Rejected', dimension: { value: 'invalid_clickid' } });
  });

  it('counts conversions by type and revenue by currency, and every other outcome by reason', () => {
    expect(postbackMetrics({ status: 'recorded', httpStatus: 200, message: 'OK', conversion })).toEqual([
      { name: 'Conversions', value: 1, unit: 'Count', dimension: { name: 'type', value: 'payment' } },
      { name: 'Revenue', value: 47.5, unit: 'None', dimension: { name: 'currency', value: 'EUR' } },
    ]);
    expect(postbackMetrics({ status: 'recorded', httpStatus: 200, message: 'OK', conversion: { ...conversion, counted: false } })).toHaveLength(1);
    expect(postbackMetrics({ status: 'duplicate', httpStatus: 200, message: '', conversion })[0]?.name).toBe('Duplicates');
    expect(postbackMetrics({ status: 'rejected', httpStatus: 400, message: '', reason: 'invalid_input', parameter: 'sum' })[0]).toMatchObject({ name: 'Rejected', dimension: { value: 'invalid_input' } });
    expect(ipnMetrics({ status: 'forbidden', httpStatus: 403, message: '', reason: 'bad_signature', results: [] })[0]).toMatchObject({ name: 'Rejected', dimension: { value: 'bad_signature' } });
    expect(ipnMetrics({ status: 'recorded', httpStatus: 200, message: '', results: [{ type: 'refund', outcome: 'recorded', revenue: '-47', currency: 'EUR', counted: true }] })).toEqual([
      { name: 'Conversions', value: 1, unit: 'Count', dimension: { name: 'type', value: 'refund' } },
      { name: 'Revenue', value: -47, unit: 'None', dimension: { name: 'currency', value: 'EUR' } },
    ]);
  });

  it('counts forwards by status once, where they happen: in the sender, whether a postback or an IPN recorded the sale', () => {
    const forwards = (points: { name: string; dimension?: { value: string } }[]) => points.filter((p) => p.name === 'Forwards').map((p) => p.dimension?.value);
    const recorded = { type: 'payment', outcome: 'recorded' as const, revenue: '47', currency: 'EUR', counted: true, send: 'postback: queued' };
    expect(forwards(ipnMetrics({ status: 'recorded', httpStatus: 200, message: '', results: [recorded] }))).toEqual([]);
    expect(forwards(postbackMetrics({ status: 'recorded', httpStatus: 200, message: 'OK', conversion, send: { to: 'postback', status: 'queued' } }))).toEqual([]);
    expect(forwards(sendMetrics([{ clickId: 'C', conversionKey: 'payment|T', to: 'postback', outcome: 'sent' }, { clickId: 'C', conversionKey: 'payment|U', to: 'postback', outcome: 'queued' }]))).toEqual(['sent', 'queued']);
  });

  it('counts an amount conflict beside its duplicate, and a recorded test order as a test, never as revenue', () => {
    const conflict = { stored: { revenue: '23.5', currency: 'EUR' }, sent: { revenue: '47', currency: 'EUR' } };
    expect(postbackMetrics({ status: 'duplicate', httpStatus: 200, message: '', conversion, conflict }).map((p) => p.name)).toEqual(['Duplicates', 'AmountConflicts']);
    expect(ipnMetrics({ status: 'duplicate', httpStatus: 200, message: 'OK', results: [{ type: 'payment', outcome: 'duplicate', conflict }] }).map((p) => p.name)).toEqual([
      'Duplicates',
      'AmountConflicts',
    ]);
    expect(ipnMetrics({ status: 'recorded', httpStatus: 200, message: 'OK', results: [{ type: 'payment', outcome: 'recorded', revenue: '47', currency: 'EUR', counted: true, test: true }] })).toEqual([
      { name: 'TestPostbacks', value: 1, unit: 'Count' },
    ]);
  });
});

describe('dead-letter metric points', () => {
  const params: PostbackParams = { clickId: 'C', type: 'payment', sum: '10', isTest: false };
  it('counts a repeat of a queued failure apart from new ones, and refusals by the cap', () => {
    expect(postbackMetrics({ status: 'queued', httpStatus: 202, message: '', reason: 'unknown_click', params })).toEqual([
      { name: 'Queued', value: 1, unit: 'Count', dimension: { name: 'reason', value: 'unknown_click' } },
    ]);
    expect(postbackMetrics({ status: 'queued', httpStatus: 202, message: '', reason: 'unknown_click', params, duplicateOf: 'M' })).toEqual([{ name: 'DeadLetterDuplicates', value: 1, unit: 'Count' }]);
    expect(postbackMetrics({ status: 'capped', httpStatus: 503, message: '', reason: 'unknown_click', params, source: 'key:ds24', retryAfterSeconds: 60 })).toEqual([
      { name: 'DeadLettersCapped', value: 1, unit: 'Count' },
    ]);
    expect(ipnMetrics({ status: 'unavailable', httpStatus: 503, message: '', reason: 'dead_letters_capped', retryAfterSeconds: 60, results: [] })).toEqual([{ name: 'DeadLettersCapped', value: 1, unit: 'Count' }]);
    expect(ipnMetrics({ status: 'queued', httpStatus: 200, message: '', results: [{ type: 'payment', outcome: 'queued', queuedBefore: true }] })).toEqual([{ name: 'DeadLetterDuplicates', value: 1, unit: 'Count' }]);
    // Kept for a person before any type ran (an amount or a currency that cannot be read): still counted.
    expect(ipnMetrics({ status: 'queued', httpStatus: 200, message: 'OK', reason: 'invalid_input', results: [] })).toEqual([
      { name: 'Queued', value: 1, unit: 'Count', dimension: { name: 'reason', value: 'ipn' } },
    ]);
    expect(ipnMetrics({ status: 'queued', httpStatus: 200, message: 'OK', reason: 'invalid_input', queuedBefore: true, results: [] })).toEqual([
      { name: 'DeadLetterDuplicates', value: 1, unit: 'Count' },
    ]);
  });

  it('has the archiver report what it moved and the longest wait (0 when nothing waits, so the alarm recovers)', () => {
    const now = Date.parse('2026-11-25T10:00:00Z');
    expect(archiveMetrics({ archived: 2, oldestWaitingSince: '2026-11-15T10:00:00Z' }, now)).toEqual([
      { name: 'DeadLettersArchived', value: 2, unit: 'Count' },
      { name: 'DeadLetterOldestAge', value: 10 * 86400, unit: 'Seconds' },
    ]);
    expect(archiveMetrics({ archived: 0 }, now)).toEqual([
      { name: 'DeadLettersArchived', value: 0, unit: 'Count' },
      { name: 'DeadLetterOldestAge', value: 0, unit: 'Seconds' },
    ]);
  });
});

type Emf = Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } };

async function emfOf(run: () => Promise<void>): Promise<Emf[]> {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  const before = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  try {
    await run();
  } finally {
    process.env.POWERTOOLS_METRICS_DISABLED = before;
    spy.mockRestore();
  }
  return lines.flatMap((l) => l.split('\n')).filter((l) => l.includes('_aws')).map((l) => JSON.parse(l) as Emf);
}

describe('publish', () => {
  it('sums clicks and writes them every CLICKS_BATCH clicks or CLICKS_FLUSH_MS, queued clicks at once', async () => {
    const click = { clickId: 'C', campaignId: 'demo', offerId: 'o', channelId: 'c', createdAt: '', expiresAt: 0, subs: {} };
    // One click long after the container started is written at once and starts the interval.
    const t0 = Date.now() + 2 * CLICKS_FLUSH_MS;
    expect((await emfOf(() => publish(clickMetrics({ kind: 'redirect', location: '', click, stored: 'stored' }), t0))).map((e) => e.Clicks)).toEqual([1]);
    const batched = await emfOf(async () => {
      for (let i = 0; i < CLICKS_BATCH * 2 + 5; i++) await publish(clickMetrics({ kind: 'redirect', location: '', click, stored: 'stored' }), t0 + 1);
    });
    expect(batched.map((e) => e.Clicks)).toEqual([CLICKS_BATCH, CLICKS_BATCH]);
    const later = await emfOf(() => publish(clickMetrics({ kind: 'redirect', location: '', click, stored: 'queued' }), t0 + 1 + CLICKS_FLUSH_MS));
    expect(later.map((e) => [e.Clicks, e.ClicksQueued])).toEqual([[6, 1]]);
  });

  it('writes CloudWatch embedded-metric-format lines in the Clickvault namespace', async () => {
    const emf = await emfOf(() => publish(postbackMetrics({ status: 'recorded', httpStatus: 200, message: 'OK', conversion })));
    expect(emf).toHaveLength(2);
    expect(emf.map((e) => e._aws.CloudWatchMetrics[0]?.Namespace)).toEqual(['Clickvault', 'Clickvault']);
    expect(emf[0]).toMatchObject({ service: 'clickvault', type: 'payment', Conversions: 1 });
    expect(emf[1]).toMatchObject({ currency: 'EUR', Revenue: 47.5 });
    expect(emf[0]?._aws.CloudWatchMetrics[0]?.Dimensions[0]).toEqual(expect.arrayContaining(['service', 'type']));
  });
});

describe('publish, sends', () => {
  it('writes PlatformSends with the platform and the outcome as dimensions (what the alarm and the widget search)', async () => {
    const emf = await emfOf(() => publish(sendMetrics([{ clickId: 'C', conversionKey: 'k', to: 'tiktok', outcome: 'failed' }])));
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({ service: 'clickvault', platform: 'tiktok', outcome: 'failed', PlatformSends: 1 });
    expect(emf[0]?._aws.CloudWatchMetrics[0]?.Dimensions[0]?.sort()).toEqual(['outcome', 'platform', 'service']);
  });
});
