/**
 * The tracker on one machine, no AWS account: embedded DynamoDB (dynalite) with the stack's own
 * table definitions, the config's conversion types synced in, a file-backed dead-letter queue,
 * and the Lambda handlers served over HTTP.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TrackerConfig } from '../../config/schema';
import { syncCatalog, type CatalogSyncResult } from '../adapters/catalog';
import { syncConversionTypes, type SyncResult } from '../adapters/conversion-types-sync';
import { DynamoClickStore, DynamoConversionStore, DynamoConversionTypes, DynamoInboundLog, createDynamoClient } from '../adapters/dynamodb-store';
import { FileDeadLetterQueue } from '../adapters/file-dead-letter';
import { CALL_BUDGETS } from '../adapters/aws-clients';
import { DynamoConversionHistory } from '../adapters/conversion-history';
import { compileConfig } from '../core/tracker-config';
import { createClickHandler } from '../handlers/click';
import { createLanderHandler } from '../handlers/lander';
import { createScriptHandler } from '../handlers/script';
import { createPostbackHandler } from '../handlers/postback';
import { createIpnHandler } from '../handlers/ipn';
import { conversionDeps, guardedDeadLetters, postbackAuth, sendDeps } from '../handlers/runtime';
import { DynamoIpKeyStore } from '../adapters/ip-keys';
import { IpKeyRing, maintainIpKeys } from '../core/sealed-ip';
import { configSends, processSend, sweep, type SendDeps, type SendResult, type SweepOptions, type SweepSummary } from '../core/send';
import { InProcessSendQueue } from './send-queue';
import { DynamoDeadLetterArchive } from '../adapters/dead-letter-archive';
import { DynamoDeadLetterLedger } from '../adapters/dead-letter-ledger';
import { archiveRun } from '../handlers/archive-dead-letters';
import { ARCHIVER } from '../contract';
import { CachedSecretReader } from '../adapters/secrets';
import { logger } from '../logger';
import { describeRun, makeOpenView, runRollupUpkeep } from '../adapters/rollup-runner';
import { ClickWriteGenerations, OPEN_VIEW_LOCAL_EVERY_MS, viewOf, type OpenHoursView } from '../core/open-hours';
import { DynamoRollupStore } from '../adapters/rollup-store';
import { router } from './api-gateway';
import { attachChangeFeed, attachClickWriteCounter, attachRollupPartWatch } from './change-feed';
import { RollupPartCache } from '../adapters/rollup-part-cache';
import { startDynalite, type EmbeddedDynamo } from './dynalite';
import { ensureTables, localTableNames, type TableNames } from './tables';
import { ensureLocalPostbackKey } from './postback-key';
import { digistore24Urls, urlKeyRef, type UrlKey } from '../core/urls';
import { protectionWarnings } from '../../config/schema';
import { ArchiveQueue } from '../core/archive';
import { buildSetup } from '../core/dashboard-api';
import { parseReportQuery, reportSettings, runReport } from '../core/report-query';
import { NarrowRangeError } from '../core/report-run';
import { reportPorts } from '../adapters/report-data';
import { dashboardPorts } from '../adapters/dashboard-ports';
import { createDashboardApiHandler } from '../handlers/dashboard-api';
import { runSilenceCheck } from '../handlers/silence-check';
import { silencePorts } from '../adapters/silence-source';
import { silenceRules, type SilenceReport } from '../core/silence';
import { DASHBOARD_API_ROUTES, DASHBOARD_PATH } from '../contract';
import { hostAllowed, refuseHost, serveDashboard } from './dashboard-static';

export interface LocalTrackerOptions {
  config: TrackerConfig;
  /** Where the DynamoDB files and the dead-letter queue live (TRACKER_DATA_DIR, default .data). */
  dataDir: string;
  /** HTTP port (PORT, default 3000); 0 picks a free one. */
  port?: number;
  /** dynalite port (DYNAMODB_PORT, default 8000); 0 picks a free one. */
  dynamoPort?: number;
  /** Keep DynamoDB in memory instead of under dataDir (tests). */
  inMemory?: boolean;
  tablePrefix?: string;
  /** Where local secrets (DS24_IPN_PASSPHRASE, postback keys) are read from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** How often the dead-letter archiver runs (default every ARCHIVER.everyHours, and at start); 0: never. */
  archiveEveryMs?: number;
  /** Pass CloudFront-Viewer-* request headers to the handlers; default: env TRUST_CLOUDFRONT_HEADERS=1. */
  trustCloudFrontHeaders?: boolean;
  /**
   * Where the handlers reach DynamoDB (default: the embedded one directly). `npm run bench:load`
   * puts a proxy here that it can stop or black-hole mid-run; table setup and sync go direct.
   */
  storeEndpoint?: string;
  /**
   * How often the rollup upkeep runs (the same code as the deployed schedule); 0: never (tests
   * that drive it themselves). Default ROLLUP_LOCAL_EVERY_MS.
   */
  rollupEveryMs?: number;
  /**
   * How often the silent-breakage check runs (the same code as the deployed schedule: a WARN line
   * per silent campaign); 0: never. Default SILENCE_LOCAL_EVERY_MS.
   */
  silenceEveryMs?: number;
  /**
   * The built dashboard (scripts/build-dashboard.ts), served under /dashboard/; its API is served
   * either way. @default - no dashboard page (the API still answers)
   */
  dashboardDir?: string;
  /** Multiplies the send queue's retry delays (tests: 0.001). Default 1. */
  sendDelayScale?: number;
  /** Retry delays of Meta/TikTok sends in seconds (before delayScale); default core/send's. */
  sendRetryDelaysSeconds?: readonly number[];
  /** How often the local sweep runs (default hourly, as in AWS); 0 turns it off. */
  sweepIntervalMs?: number;
  /** Called with every send's result (tests, the start banner's log). */
  onSend?: (result: SendResult) => void;
  /**
   * How often the open hours' view (core/open-hours) is made, the first at start; 0: never
   * (reports read the open hours raw). Default OPEN_VIEW_LOCAL_EVERY_MS.
   */
  openViewEveryMs?: number;
}

/** The local upkeep runs this often (the deployed one every 5 minutes; locally reads are free). */
export const ROLLUP_LOCAL_EVERY_MS = 60_000;
/** The part cache's warm-up report (a dashboard report of 32 days) stops past these. */
export const WARM_MAX_RAW_ITEMS = 20_000;
export const WARM_BUDGET_MS = 10_000;

/** The local silence check runs as often as the deployed one (lib/silence-alarm SILENCE_SCHEDULE). */
export const SILENCE_LOCAL_EVERY_MS = 15 * 60_000;

export interface LocalTracker {
  url: string;
  dynamo: EmbeddedDynamo;
  tables: TableNames;
  deadLetters: FileDeadLetterQueue;
  archive: DynamoDeadLetterArchive;
  ledger: DynamoDeadLetterLedger;
  typesSync: SyncResult;
  /** The generated postback key (`keys: [{ generated: true }]`), kept in dataDir. */
  postbackKey?: { key: string; path: string; created: boolean };
  /** What the catalog recorded: campaigns added, retired, restored; a retention change. */
  catalogSync: CatalogSyncResult;
  /** The send path: its in-process queue and the sweep, run on demand (tests; `npm run sweep -- --local` does the same). */
  sender: { queue: InProcessSendQueue; deps: SendDeps; sweep(options?: SweepOptions): Promise<SweepSummary> };
  /** One run of the silent-breakage check now (what the timer runs): logs a WARN line per silent campaign. */
  checkSilence(now?: Date): Promise<SilenceReport>;
  /** Makes a new view of the open hours now (what its timer does; tests, bench:dashboard). */
  refreshOpenView(): Promise<void>;
  /** One run of the rollup upkeep now, in this process (what its timer runs; tests). */
  runRollupUpkeep(): Promise<void>;
  /** Runs a dashboard report of the last 32 days, as at start (tests, bench:dashboard): fills the part cache, warms the code; the day items it read. */
  warmPartCache(): Promise<number>;
  /** The dashboard reports' memory of rollup day items (adapters/rollup-part-cache). */
  partCache: RollupPartCache;
  close(): Promise<void>;
}

/** Whether the config names a generated postback key. */
export function usesGeneratedKey(config: TrackerConfig): boolean {
  return (config.postbackProtection.sources ?? []).some((source) => source.keys.some((ref) => ref.generated === true));
}

export async function startLocalTracker(options: LocalTrackerOptions): Promise<LocalTracker> {
  // On disk (`npm start`), the store runs in its own process: its work does not hold up the
  // handlers and the dashboard's API on this one (tests keep it in memory, in process).
  const dynamo = await startDynalite({
    port: options.dynamoPort ?? 8000,
    ...(options.inMemory ? {} : { path: join(options.dataDir, 'dynamodb'), ownProcess: true }),
  });
  let server: Server | undefined;
  try {
    const client = createDynamoClient(dynamo.endpoint, CALL_BUDGETS.embedded);
    const tables = localTableNames(options.tablePrefix);
    await ensureTables(client, tables);
    const typesSync = await syncConversionTypes(client, tables.conversionTypes, options.config.conversionTypes);
    // As a deploy does: the campaigns of this config (others become retired) and its retention.
    const catalogSync = await syncCatalog(client, tables.catalog, {
      campaigns: options.config.campaigns,
      clickRetentionDays: options.config.defaults.clickRetentionDays,
      rollupRetentionDays: options.config.defaults.rollupRetentionDays,
    });
    const deadLetters = new FileDeadLetterQueue(options.dataDir);
    const store = options.storeEndpoint ? createDynamoClient(options.storeEndpoint, CALL_BUDGETS.embedded) : client;
    // The ledger is asked on the request path, so it shares the handlers' store (and its faults:
    // the guard then queues unchecked); the archive belongs to the archiver and the CLIs.
    const ledger = new DynamoDeadLetterLedger(store, tables.deadLetterLedger);
    const archive = new DynamoDeadLetterArchive(client, tables.deadLetterArchive);
    // The local stand-in for the clicks stream: updates of clicks (lander clicks) mark their hour.
    attachChangeFeed(store, tables.clicks, new DynamoRollupStore(client, tables.rollups), logger);
    // The open hours' view (core/open-hours): every click write of the handlers moves its
    // campaign's generation, so the view is never used for clicks it may not hold.
    const generations = new ClickWriteGenerations();
    attachClickWriteCounter(store, tables.clicks, generations);
    const viewEvery = options.openViewEveryMs ?? OPEN_VIEW_LOCAL_EVERY_MS;
    let openView: OpenHoursView | undefined;
    // The dashboard's memory of rollup day items (adapters/rollup-part-cache): the upkeep writes
    // them through `client`, which tells the cache each day it writes and each lease it takes.
    const partCache = new RollupPartCache();
    attachRollupPartWatch(client, tables.rollups, partCache);
    const localReads = {
      ...(viewEvery > 0 ? { openClicks: (campaignId: string, now: number) => viewOf(openView, campaignId, now, generations) } : {}),
      partCache,
    };
    const clicks = new DynamoClickStore(store, tables.clicks);

    const env = options.env ?? process.env;
    const postbackKey = usesGeneratedKey(options.config) ? ensureLocalPostbackKey(options.dataDir) : undefined;
    const secrets = new CachedSecretReader('local', env, undefined, undefined, postbackKey?.key);
    // Sends (conversion APIs, channel postbacks): the same core as the sender function, fed by an
    // in-process queue; retries wait in it, and the sweep below finds anything it lost.
    let senderDeps: SendDeps | undefined;
    const sendQueue = new InProcessSendQueue({
      handle: async (job) => {
        if (!senderDeps) throw new Error('the sender is not ready');
        const result = await processSend(job, senderDeps, 'queue');
        logger.info('send', { clickId: result.clickId, conversionKey: result.conversionKey, to: result.to, outcome: result.outcome, detail: result.detail });
        options.onSend?.(result);
      },
      ...(options.sendDelayScale !== undefined ? { delayScale: options.sendDelayScale } : {}),
      onError: (job, err) => logger.error('send job failed; tried again in 30 s', { clickId: job.clickId, conversionKey: job.conversionKey, error: (err as Error).message }),
    });
    senderDeps = {
      ...sendDeps(options.config, { client: store, tables, secrets, deadLetters: () => deadLetters, queue: sendQueue }),
      ...(options.sendRetryDelaysSeconds ? { retryDelaysSeconds: options.sendRetryDelaysSeconds } : {}),
    };
    const sender = senderDeps;
    const ipKeys = new DynamoIpKeyStore(store, tables.ipKeys);
    await maintainIpKeys(ipKeys, new Date());
    const runSweep = async (sweepOptions: SweepOptions = {}) => {
      await maintainIpKeys(ipKeys, new Date());
      const summary = await sweep(sender, sweepOptions);
      for (const r of summary.results) options.onSend?.(r);
      return summary;
    };
    const sweepEvery = options.sweepIntervalMs ?? 3_600_000;
    const sweepTimer =
      sweepEvery > 0 && configSends(options.config)
        ? setInterval(() => void runSweep().catch((err: unknown) => logger.error('local sweep failed', { error: (err as Error).message })), sweepEvery)
        : undefined;
    sweepTimer?.unref();
    sendQueue.start();

    // As in AWS: clicks go to the queue unguarded (never capped); lander clicks, postbacks and
    // IPN through the ledger's dedupe and per-source cap.
    const compiled = compileConfig(options.config);
    const click = createClickHandler({ config: compiled, clicks, deadLetters: guardedDeadLetters(deadLetters, undefined, options.config), log: logger, ipKeys: new IpKeyRing(ipKeys) });
    const lander = createLanderHandler({ config: compiled, clicks, deadLetters: guardedDeadLetters(deadLetters, ledger, options.config), log: logger });
    const script = createScriptHandler();
    const shared = conversionDeps(
      options.config,
      {
        clicks,
        conversions: new DynamoConversionStore(store, tables.conversions),
        history: new DynamoConversionHistory(store, tables.conversions),
        // Local edits to the config take effect on restart, so the type cache can be short.
        types: new DynamoConversionTypes(store, tables.conversionTypes, 1000),
      },
      guardedDeadLetters(deadLetters, ledger, options.config),
      sendQueue,
    );
    const inbound = { log: new DynamoInboundLog(store, tables.inbound), retentionDays: options.config.defaults.clickRetentionDays };
    const postback = createPostbackHandler(shared, { ...postbackAuth(options.config.postbackProtection, secrets, options.config.defaults.ipStorage), inbound });
    const ipnConfig = options.config.digistore24?.ipn;
    const ipn = createIpnHandler(ipnConfig ? { ...shared, ipn: ipnConfig, passphrase: () => secrets.read(ipnConfig.passphrase) } : undefined, { inbound });
    // The dashboard's API over the same store, read-only, answered only for this server's own Host.
    let port = 0;
    const dashboardApi = createDashboardApiHandler(
      dashboardPorts({
        client,
        tables,
        queue: deadLetters,
        archive: new ArchiveQueue(archive),
        settings: reportSettings(options.config),
        silence: options.config,
        local: localReads,
        setup: async () => {
          const base = `http://127.0.0.1:${port}`;
          const key = localUrlKey(options.config, options.dataDir, env);
          const warnings = [...protectionWarnings(options.config)];
          if (key !== undefined && 'placeholder' in key) warnings.push(`The key of these URLs is not readable here: put it where ${key.placeholder} stands.`);
          return buildSetup(base, options.config, key, warnings);
        },
      }),
    );
    const apiRoutes = Object.values(DASHBOARD_API_ROUTES).map((routeKey) => {
      const [method = 'GET', path = '/'] = routeKey.split(' ');
      return { method, path, handler: dashboardApi };
    });
    const routes = router(
      [
        ...apiRoutes,
          { method: 'GET', path: '/click/{campaignId}', handler: click },
          { method: 'HEAD', path: '/click/{campaignId}', handler: click },
          { method: 'GET', path: '/go', handler: lander },
          { method: 'HEAD', path: '/go', handler: lander },
          { method: 'GET', path: '/t.js', handler: script },
          { method: 'HEAD', path: '/t.js', handler: script },
          { method: 'GET', path: '/postback', handler: postback },
          { method: 'POST', path: '/postback', handler: postback },
          { method: 'GET', path: '/postback/{key}', handler: postback },
          { method: 'POST', path: '/postback/{key}', handler: postback },
          { method: 'POST', path: '/ipn/digistore24', handler: ipn },
          { method: 'GET', path: '/ipn/digistore24', handler: ipn },
          { method: 'HEAD', path: '/ipn/digistore24', handler: ipn },
      ],
      (err) => logger.error('local server error', { error: err as Error }),
      { trustCloudFrontHeaders: options.trustCloudFrontHeaders ?? env.TRUST_CLOUDFRONT_HEADERS === '1' },
    );
    const dashboardDir = options.dashboardDir;
    server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const dashboard = path.startsWith('/api/') || path === DASHBOARD_PATH.slice(0, -1) || path.startsWith(DASHBOARD_PATH);
      if (dashboard && !hostAllowed(req, port)) return refuseHost(res, port);
      if (dashboardDir !== undefined && serveDashboard(req, res, dashboardDir)) return;
      routes(req, res);
    });
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(options.port ?? 3000, '127.0.0.1', () => resolve());
    });
    ({ port } = listening.address() as AddressInfo);
    // The rollup upkeep at start and on a timer, as the schedule runs it in AWS (one run at a time;
    // a run that fails is logged and the next one starts from the stored state). After a run, the
    // part cache is filled again if it forgot everything (another process ran the upkeep) or has
    // not been filled since rollups exist.
    let upkeep: Promise<void> = Promise.resolve();
    const every = options.rollupEveryMs ?? ROLLUP_LOCAL_EVERY_MS;
    const runUpkeep = () => {
      return (upkeep = upkeep
        .then(async () => {
          const report = await runRollupUpkeep({ client, tables, config: options.config, log: logger, budgetMs: Math.max(every, 30_000) });
          if (report.ran && (report.started || report.closed.hours > 0 || report.sweep || report.clickMarks > 0)) logger.info('rollup upkeep', { done: describeRun(report) });
          await warmIfForgotten();
        })
        .catch((err: unknown) => logger.error('rollup upkeep failed', { error: (err as Error).message })));
    };
    const timer = every > 0 ? setInterval(runUpkeep, every) : undefined;
    timer?.unref();
    if (every > 0) runUpkeep();
    // The open hours' view: at start (a dashboard opened right away is quick too), then on a timer.
    // One at a time: a tick that finds a view still being made skips (a slow store must not
    // queue up views without end); an explicit refresh waits for it, then makes a new one.
    let viewing: Promise<void> = Promise.resolve();
    let makingView = false;
    const refreshView = () => {
      viewing = viewing
        .then(async () => {
          makingView = true;
          openView = await makeOpenView({ client, tables, config: options.config, generations });
        })
        .catch((err: unknown) => logger.error('open hours view failed', { error: (err as Error).message }))
        .finally(() => {
          makingView = false;
        });
    };
    const viewTimer = viewEvery > 0 ? setInterval(() => makingView || refreshView(), viewEvery) : undefined;
    viewTimer?.unref();
    // At start behind the upkeep's first run (hours it closes need no view).
    viewing = upkeep;
    if (viewEvery > 0) refreshView();
    // A dashboard report of the last 32 days, at start behind the view (same reason): its rollup
    // day items into the part cache, and the report's code warmed up.
    const partState = new DynamoRollupStore(client, tables.rollups, Date.now, partCache);
    let warmed: { flushes: number; rollups: boolean } | undefined;
    let closing = false;
    const warm = () => {
      const warming = viewing.then(async () => {
        const read = partCache.counts.misses;
        const rollups = (await partState.state()) !== undefined;
        try {
          // Without rollups it would be a raw read of everything: nothing to keep, so not run.
          if (!rollups) return 0;
          // Bounded like a small web request: it is for the rolled-up days; a store with much
          // raw work left (a backlog the upkeep has not caught up) stops it early.
          const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
          const query = { ...parseReportQuery({ from: day(-31), to: day(0), tz: 'UTC', by: 'campaign' }), limits: { maxRawItems: WARM_MAX_RAW_ITEMS, deadline: Date.now() + WARM_BUDGET_MS } };
          await runReport(query, reportSettings(options.config), reportPorts(client, tables, localReads));
          // Then the page's own request, twice, through this server (its days now in memory): the
          // HTTP, API and answer code a first page runs is warmed up too.
          for (let i = 0; i < 2 && !closing; i++) {
            const response = await fetch(`http://127.0.0.1:${port}/api/report?${new URLSearchParams({ from: day(-29), to: day(0), tz: 'UTC', by: 'campaign' })}`);
            await response.arrayBuffer();
            if (!response.ok) throw new Error(`the dashboard API answered ${response.status}`);
          }
          return partCache.counts.misses - read;
        } finally {
          warmed = { flushes: partCache.counts.flushes, rollups };
        }
      });
      viewing = warming.then(
        () => undefined,
        (err: unknown) =>
          closing
            ? undefined
            : err instanceof NarrowRangeError
            ? logger.info('rollup part cache warm-up stopped early: reports read the rest from the store', { reason: err.message })
            : logger.error('rollup part cache warm-up failed', { error: (err as Error).message }),
      );
      return warming;
    };
    void warm().catch(() => undefined);
    // One consistent read of the state a run: it makes the cache forget if another process ran.
    async function warmIfForgotten(): Promise<void> {
      if (!warmed) return; // the warm-up at start is still to come
      try {
        const rollups = (await partState.state()) !== undefined;
        if (rollups && (!warmed.rollups || partCache.counts.flushes !== warmed.flushes)) await warm();
      } catch (err) {
        logger.error('rollup part cache warm-up failed', { error: (err as Error).message });
      }
    }
    // The silent-breakage check on a timer, as its schedule runs it in AWS (a WARN line per silent
    // campaign); the dashboard's /api/alerts asks the same core at request time.
    const silenceDeps = { ports: silencePorts(client, tables, undefined, localReads), config: options.config, log: logger };
    const checkSilenceNow = (now: Date = new Date()) => runSilenceCheck(silenceDeps, now);
    const silenceEvery = options.silenceEveryMs ?? SILENCE_LOCAL_EVERY_MS;
    const silenceTimer =
      silenceEvery > 0 && silenceRules(options.config).length > 0
        ? setInterval(() => void checkSilenceNow().catch((err: unknown) => logger.error('silence check failed', { error: (err as Error).message })), silenceEvery)
        : undefined;
    silenceTimer?.unref();
    // The first run one interval after start, not at once: a server started and stopped right
    // away (tests, a quick look) does no rollup work, and start-up stays quick.
    // The same archiver as the scheduled function in AWS, on the same schedule. Local files never
    // expire, so it only keeps the two runs alike (and `npm run dlq -- --local` shows both places).
    const archiveNow = async () => {
      try {
        const summary = await archiveRun({ queue: deadLetters, archive, ledger });
        if (summary.archived > 0 || summary.staleCopies > 0) logger.info('dead letters archived', { ...summary });
      } catch (err) {
        logger.warn('dead-letter archiver failed', { error: (err as Error).message });
      }
    };
    const archiving = options.archiveEveryMs === 0 ? undefined : setInterval(() => void archiveNow(), options.archiveEveryMs ?? ARCHIVER.everyHours * 3600_000);
    archiving?.unref();
    if (options.archiveEveryMs !== 0) void archiveNow();
    return {
      url: `http://127.0.0.1:${port}`,
      dynamo,
      tables,
      deadLetters,
      typesSync,
      archive,
      ledger,
      ...(postbackKey ? { postbackKey } : {}),
      catalogSync,
      sender: { queue: sendQueue, deps: sender, sweep: runSweep },
      checkSilence: checkSilenceNow,
      refreshOpenView: () => {
        refreshView();
        return viewing;
      },
      warmPartCache: warm,
      runRollupUpkeep: runUpkeep,
      partCache,
      close: async () => {
        closing = true;
        if (timer) clearInterval(timer);
        if (viewTimer) clearInterval(viewTimer);
        if (silenceTimer) clearInterval(silenceTimer);
        sendQueue.stop();
        if (sweepTimer) clearInterval(sweepTimer);
        if (archiving) clearInterval(archiving);
        await new Promise<void>((resolve) => {
          listening.close(() => resolve());
          listening.closeAllConnections();
        });
        await upkeep;
        await viewing;
        if (store !== client) store.destroy();
        await dynamo.close();
      },
    };
  } catch (err) {
    server?.close();
    await dynamo.close();
    throw err;
  }
}

/**
 * The key the local URLs carry (lambda/core/urls urlKeyRef): the generated key from the data
 * directory, or the environment variable a key names. A key that lives only in AWS cannot be
 * printed here: the URL then shows where it goes.
 */
export function localUrlKey(config: TrackerConfig, dataDir: string, env: NodeJS.ProcessEnv = process.env): UrlKey {
  const chosen = urlKeyRef(config.postbackProtection);
  if (!chosen) return undefined;
  const { ref } = chosen;
  if (ref.generated) return { value: ensureLocalPostbackKey(dataDir).key };
  const value = ref.env ? env[ref.env] : undefined;
  if (value) return { value };
  return { placeholder: ref.env ? `<the key in ${ref.env}>` : '<your postback key>' };
}

/** The URLs a user needs, for the start banner and `npm run urls -- --local` (the stack's outputs say the same). */
export function trackerUrls(baseUrl: string, config: TrackerConfig, key: UrlKey) {
  return {
    clicks: config.campaigns.map((c) => ({ campaignId: c.id, url: `${baseUrl}/click/${c.id}`, cost: c.cost?.fromUrl === true })),
    ...digistore24Urls(baseUrl, key),
  };
}
