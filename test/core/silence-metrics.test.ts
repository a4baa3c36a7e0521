/**
 * What the silence check writes for its alarms (CloudWatch embedded metric format): SilentCampaign
 * 0/1 per campaign with exactly the dimensions service + campaign (the campaign alarms' metric in
 * lib/silence-alarm.ts), and SilenceChecks with service alone (the "not running" alarm's).
 */
import { publishSilence, silenceMetricPoints } from '../../lambda/metrics';

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

describe('silence metrics', () => {
  const statuses = [
    { campaignId: 'demo', silent: true },
    { campaignId: 'split', silent: false },
  ];

  it('are a 0/1 per campaign and one completed run', () => {
    expect(silenceMetricPoints(statuses)).toEqual([
      { campaignId: 'demo', name: 'SilentCampaign', value: 1 },
      { campaignId: 'split', name: 'SilentCampaign', value: 0 },
      { name: 'SilenceChecks', value: 1 },
    ]);
    expect(silenceMetricPoints([])).toEqual([{ name: 'SilenceChecks', value: 1 }]);
  });

  it('are written with the dimensions the alarms watch', async () => {
    const emf = await emfOf(() => publishSilence(statuses));
    expect(emf.map((e) => e._aws.CloudWatchMetrics[0]?.Namespace)).toEqual(['Clickvault', 'Clickvault', 'Clickvault']);
    const silent = emf.filter((e) => 'SilentCampaign' in e);
    expect(silent.map((e) => [e.campaign, e.SilentCampaign, e.service])).toEqual([
      ['demo', 1, 'clickvault'],
      ['split', 0, 'clickvault'],
    ]);
    for (const e of silent) expect(e._aws.CloudWatchMetrics[0]?.Dimensions[0]?.sort()).toEqual(['campaign', 'service']);
    const runs = emf.filter((e) => 'SilenceChecks' in e);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ service: 'clickvault', SilenceChecks: 1 });
    expect(runs[0]?._aws.CloudWatchMetrics[0]?.Dimensions[0]).toEqual(['service']);
  });
});
