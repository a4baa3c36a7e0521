/**
 * The cost model's arithmetic, on the real synthesized template and fixed measurements (no
 * timing here: speed and cost are measured by npm run bench / npm run cost, never in tests).
 */
import { costPerMillion, costReport, scriptResponseBytes, TARGET_PER_MILLION_CLICKS, templateFacts, type BenchResults } from '../../bench/cost';

const facts = templateFacts();
const sum = (items: { dollarsPerMillion: number }[]) => Number(items.reduce((a, i) => a + i.dollarsPerMillion, 0).toFixed(4));

describe('cost per million', () => {
  it('reads the stack: HTTP API, arm64 at 256 MB, no index on clicks, lean access logs, no platform log lines', () => {
    expect(facts.api).toBe('HTTP');
    expect(facts.cloudFront).toBe(true);
    expect(facts.click).toEqual({ memoryMb: 256, arch: 'arm64', platformLogs: false });
    expect(facts.tables.clicks).toEqual({ billing: 'PAY_PER_REQUEST', indexes: 0 });
    // byCampaign (arrival) and byClick (click time: raw reports and the rollup upkeep).
    expect(facts.tables.conversions.indexes).toBe(2);
    expect(facts.accessLogClass).toBe('INFREQUENT_ACCESS');
  });

  it('prices a click item by item', () => {
    const items = costPerMillion('click', { ownP50Ms: 0.2, logBytesPerRequest: 2, dynamoWrites: 1, dynamoReads: 0 }, facts);
    const by = Object.fromEntries(items.map((i) => [i.item, i.dollarsPerMillion]));
    expect(by).toMatchObject({
      'CloudFront requests': 1,
      'API Gateway (HTTP API)': 1,
      'Lambda requests': 0.2,
      'DynamoDB writes': 0.625,
      // 7 ms billed (0.2 + 6 ms DynamoDB, rounded up) x 0.25 GB x $0.0000133334
      'Lambda duration': 0.0233,
    });
    expect(sum(items)).toBeLessThanOrEqual(3);
  });

  it('prices a postback with its conversion, inbound entry and their indexes', () => {
    const items = costPerMillion('postback', { ownP50Ms: 0.4, logBytesPerRequest: 800, dynamoWrites: 2, dynamoReads: 1 }, facts);
    const by = Object.fromEntries(items.map((i) => [i.item, i.dollarsPerMillion]));
    // conversion + 2 index copies + inbound entry + its index copy: 5 write units.
    expect(by['DynamoDB writes']).toBe(3.125);
    expect(by['DynamoDB reads']).toBe(0.125);
    expect(by['Lambda duration']).toBe(0.0633);
  });
});

describe('landers and direct tracking', () => {
  const click = { ownP50Ms: 0.3, logBytesPerRequest: 28, dynamoWrites: 1, dynamoReads: 0 };
  const results: BenchResults = {
    date: '2026-11-26T00:00:00.000Z',
    handlers: { click, postback: { ownP50Ms: 0.7, logBytesPerRequest: 800, dynamoWrites: 2, dynamoReads: 1 } },
    funnel: { landerClick: { ...click, ownP50Ms: 0.2 }, jsonClick: click, script: { ownP50Ms: 0.01, logBytesPerRequest: 0, dynamoWrites: 0, dynamoReads: 0 } },
    clickItems: { plain: { items: 10, p95Bytes: 552, maxBytes: 560 }, lander: { items: 10, p95Bytes: 613, maxBytes: 620 }, direct: { items: 10, p95Bytes: 852, maxBytes: 870 } },
  };

  it('reads the lander-click and script functions from the stack too', () => {
    expect(facts.lander).toEqual({ memoryMb: 256, arch: 'arm64', platformLogs: false });
    expect(facts.script.arch).toBe('arm64');
  });

  it('bills a click write by the item\'s measured size: past 1 KB it is two write units, and the plain click misses its target', () => {
    const at = (itemBytesP95: number) => costPerMillion('click', { ...click, itemBytesP95 }, facts);
    const writes = (items: { item: string; dollarsPerMillion: number }[]) => items.find((i) => i.item === 'DynamoDB writes')?.dollarsPerMillion;
    expect(writes(at(852))).toBe(0.625);
    expect(writes(at(1024))).toBe(0.625);
    expect(writes(at(1100))).toBe(1.25);
    expect(sum(at(1100))).toBeGreaterThan(TARGET_PER_MILLION_CLICKS);
  });

  it('prices a lander visit as the click plus its lander click, and a direct visit as t.js (mostly cache hits) plus the JSON click', () => {
    const report = costReport(results, facts);
    expect(report.oversized).toEqual([]);
    const lander = report.landerVisits ?? [];
    expect(sum(lander)).toBeCloseTo(sum(costPerMillion('click', { ...click, itemBytesP95: 552 }, facts)) + sum(costPerMillion('landerClick', { ...click, ownP50Ms: 0.2, itemBytesP95: 613 }, facts)), 3);
    expect(lander.filter((i) => i.item.startsWith('/go: ')).map((i) => i.item)).toContain('/go: DynamoDB writes');
    const direct = report.directVisits ?? [];
    const part = (name: string) => Object.fromEntries(direct.filter((i) => i.item.startsWith(`${name}: `)).map((i) => [i.item.slice(name.length + 2), i.dollarsPerMillion]));
    // Every load is a CloudFront request; only 1 % reaches API Gateway and the function.
    expect(part('t.js')['CloudFront requests']).toBe(1);
    expect(part('t.js')['API Gateway (HTTP API)']).toBe(0.01);
    expect(part('t.js')['DynamoDB writes']).toBeUndefined();
    expect(part('JSON click')['DynamoDB writes']).toBe(0.625);
    // What a direct visit costs over a click: the cached script, at most a little more than a dollar.
    expect(sum(direct) - sum(report.clicks)).toBeLessThan(1.25);
  });

  it('flags a kind of click item whose p95 outgrew one write unit, and prices it so', () => {
    const grown = costReport({ ...results, clickItems: { ...results.clickItems!, direct: { items: 10, p95Bytes: 1030, maxBytes: 1100 } } }, facts);
    expect(grown.oversized).toEqual(['direct']);
    expect((grown.directVisits ?? []).find((i) => i.item === 'JSON click: DynamoDB writes')?.dollarsPerMillion).toBe(1.25);
  });

  it('leaves the funnel prices out for a results file from before they were measured', () => {
    const old = costReport({ date: results.date, handlers: results.handlers }, facts);
    expect(old.landerVisits).toBeUndefined();
    expect(old.directVisits).toBeUndefined();
    expect(sum(old.clicks)).toBe(sum(costPerMillion('click', click, facts)));
  });

  it('sends t.js compressed: well under its 3 KB', () => {
    expect(scriptResponseBytes()).toBeLessThan(2000);
  });
});
