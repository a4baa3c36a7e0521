/**
 * `npm run bench [-- --quick]`: bundle sizes, cold init against two baselines, warm latency
 * with the handler's own overhead, DynamoDB calls per request. Prints a table and writes
 * bench/results.json. Numbers from this machine: compare medians and ratios, not absolutes.
 */
import '../scripts/cli-setup';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ENV, TABLE_ENV } from '../lambda/contract';
import { buildBundles, type Bundle, type BundleName } from './bundles';
import { median, round } from './stats';
import { warmLatency, type WarmResult } from './warm';

const RESULTS = join(__dirname, 'results.json');

function probeEnv(bundle: Bundle): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    ...bundle.environment,
    // What Lambda would set, with this machine's paths instead of /var/task.
    AWS_LAMBDA_FUNCTION_NAME: `bench-${bundle.name}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    [ENV.trackerConfig]: join(bundle.dir, 'tracker-config.json'),
    [ENV.deadLetterQueueUrl]: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench',
    // Every table variable a function may require (the stack sets these to table names).
    ...Object.fromEntries(Object.entries(TABLE_ENV).map(([id, name]) => [name, `bench-${id}`])),
  };
}

/** Median ms of `runs` fresh processes per bundle, run round-robin so drift hits all alike. */
function coldInit(bundles: Bundle[], runs: number): Record<string, number> {
  const samples: Record<string, number[]> = {};
  const probe = join(__dirname, 'init-probe.js');
  for (let i = 0; i < runs; i++) {
    for (const bundle of bundles) {
      const out = execFileSync(process.execPath, [probe, join(bundle.dir, 'index.js')], { env: probeEnv(bundle), encoding: 'utf8' });
      (samples[bundle.name] ??= []).push(Number(out.trim()));
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' } } });
  const quick = values.quick === true;
  const initRuns = quick ? 9 : 21;
  const warmRequests = quick ? 1000 : 5000;

  process.stderr.write('bench: building the bundles as the stack does (cdk synth with esbuild)...\n');
  const { bundles } = buildBundles();
  process.stderr.write(`bench: cold init, ${initRuns} fresh processes per bundle...\n`);
  const order: BundleName[] = ['empty', 'sdkClient', 'click', 'postback', 'ipn'];
  const init = coldInit(order.map((n) => bundles[n]), initRuns);
  process.stderr.write(`bench: warm latency, ${warmRequests} requests per handler...\n`);
  const warm = await warmLatency(warmRequests);

  const handler = (name: 'click' | 'postback' | 'ipn', w?: WarmResult) => {
    const initMs = init[name] ?? NaN;
    return {
      bundleBytes: bundles[name].bytes,
      initMs: round(initMs, 2),
      initRatioVsEmpty: round(initMs / (init.empty ?? NaN), 2),
      initRatioVsSdkClient: round(initMs / (init.sdkClient ?? NaN), 3),
      p50Ms: w?.p50Ms ?? null,
      p99Ms: w?.p99Ms ?? null,
      ownP50Ms: w?.ownP50Ms ?? null,
      ownP99Ms: w?.ownP99Ms ?? null,
      storeP50Ms: w?.storeP50Ms ?? null,
      logBytesPerRequest: w?.logBytes ?? null,
      dynamoWrites: w?.dynamoWrites ?? null,
      dynamoReads: w?.dynamoReads ?? null,
      memorySize: bundles[name].memorySize,
      architecture: bundles[name].architecture,
    };
  };
  const measuredOnly = (w: WarmResult) => ({
    p50Ms: w.p50Ms,
    p99Ms: w.p99Ms,
    ownP50Ms: w.ownP50Ms,
    ownP99Ms: w.ownP99Ms,
    storeP50Ms: w.storeP50Ms,
    logBytesPerRequest: w.logBytes,
    dynamoWrites: w.dynamoWrites,
    dynamoReads: w.dynamoReads,
  });
  const results = {
    date: new Date().toISOString(),
    quick,
    machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: round(totalmem() / 2 ** 30, 1), platform: `${process.platform}-${process.arch}` },
    method: {
      initRuns,
      warmRequests,
      init: 'median ms of require(bundle) in a fresh node process with the function environment (init builds the handler deps)',
      warm: 'in-process handler calls against dynalite; own = total minus time inside DynamoDB calls',
    },
    baselines: {
      empty: { bundleBytes: bundles.empty.bytes, initMs: round(init.empty ?? NaN, 2) },
      sdkClient: { bundleBytes: bundles.sdkClient.bytes, initMs: round(init.sdkClient ?? NaN, 2) },
    },
    handlers: { click: handler('click', warm.click), postback: handler('postback', warm.postback), ipn: handler('ipn') },
    // Landers and direct tracking: warm figures only (their bundles are priced by the same model).
    funnel: { landerClick: measuredOnly(warm.landerClick), jsonClick: measuredOnly(warm.jsonClick), script: { ...measuredOnly(warm.script), responseBytes: warm.script.responseBytes } },
    /** Billed size of the click items the runs left (bytes): one write unit per started KB. */
    clickItems: warm.clickItems,
  };
  mkdirSync(__dirname, { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);

  const header = ['handler', 'bundle KB', 'init ms', 'x empty', 'x sdk', 'p50 ms', 'p99 ms', 'own p99', 'writes', 'reads'];
  const rows = [
    ['empty (baseline)', (bundles.empty.bytes / 1024).toFixed(0), results.baselines.empty.initMs.toFixed(1), '1.00', '-', '-', '-', '-', '-', '-'],
    ['sdk client (baseline)', (bundles.sdkClient.bytes / 1024).toFixed(0), results.baselines.sdkClient.initMs.toFixed(1), (results.baselines.sdkClient.initMs / results.baselines.empty.initMs).toFixed(2), '1.00', '-', '-', '-', '-', '-'],
    ...(['click', 'postback', 'ipn'] as const).map((name) => {
      const h = results.handlers[name];
      const f = (v: number | null, d = 3) => (v === null ? '-' : v.toFixed(d));
      return [name, (h.bundleBytes / 1024).toFixed(0), h.initMs.toFixed(1), h.initRatioVsEmpty.toFixed(2), h.initRatioVsSdkClient.toFixed(3), f(h.p50Ms), f(h.p99Ms), f(h.ownP99Ms), f(h.dynamoWrites, 2), f(h.dynamoReads, 2)];
    }),
  ];
  const f = (v: number, d = 3) => v.toFixed(d);
  for (const [name, h] of Object.entries(results.funnel)) rows.push([name, '-', '-', '-', '-', f(h.p50Ms), f(h.p99Ms), f(h.ownP99Ms), f(h.dynamoWrites, 2), f(h.dynamoReads, 2)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  process.stdout.write(`${[pad(header, widths), ...rows.map((r) => pad(r, widths))].join('\n')}\n`);
  const items = Object.entries(results.clickItems).map(([kind, it]) => `${kind} p95 ${it.p95Bytes} B (max ${it.maxBytes} B, ${it.items} items)`);
  process.stdout.write(`\nclick items: ${items.join('; ')}\n`);
  process.stdout.write(`\n${results.machine.cpus} x ${results.machine.cpuModel}, node ${results.machine.node}; wrote ${RESULTS}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
