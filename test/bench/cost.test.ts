/**
 * The cost model's arithmetic, on the real synthesized template and fixed measurements (no
 * timing here: speed and cost are measured by npm run bench / npm run cost, never in tests).
 */
import { costPerMillion, templateFacts } from '../../bench/cost';

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
