/**
 * The dashboard's page (dashboard/src, Preact) bundled by esbuild into
 * content-hashed assets under dashboard/dist/assets (cached immutably: a new build is a new
 * name) and an index.html that loads them with no inline script or style (the page's CSP allows
 * neither). `npm start` and the stack build it the same way. Fails above the bundle budget.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';

export const DASHBOARD_ROOT = join(__dirname, '..', 'dashboard');
export const DASHBOARD_DIST = join(DASHBOARD_ROOT, 'dist');
/** The dashboard's JavaScript, gzip-compressed, at most this many bytes (issue 15). */
export const BUNDLE_BUDGET_BYTES = 150 * 1024;

export interface DashboardBuild {
  dir: string;
  /** Asset file names (under assets/). */
  assets: string[];
  /** gzip size of all JavaScript, and of all CSS. */
  jsGzipBytes: number;
  cssGzipBytes: number;
}

export function buildDashboard(outDir: string = DASHBOARD_DIST): DashboardBuild {
  rmSync(outDir, { recursive: true, force: true });
  const assetsDir = join(outDir, 'assets');
  mkdirSync(assetsDir, { recursive: true });
  const result = buildSync({
    entryPoints: [join(DASHBOARD_ROOT, 'src', 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome111', 'safari16', 'firefox115'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: assetsDir,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
    absWorkingDir: join(__dirname, '..'),
  });
  const outputs = Object.keys(result.metafile?.outputs ?? {}).map((p) => basename(p));
  const js = outputs.filter((f) => f.endsWith('.js'));
  const css = outputs.filter((f) => f.endsWith('.css'));
  const gz = (files: string[]) => files.reduce((n, f) => n + gzipSync(readFileSync(join(assetsDir, f)), { level: 9 }).length, 0);
  const html = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<title>Clickvault</title>',
    ...css.map((f) => `<link rel="stylesheet" href="/dashboard/assets/${f}">`),
    ...js.map((f) => `<script type="module" src="/dashboard/assets/${f}"></script>`),
    '</head>',
    '<body>',
    '<div id="app"><noscript>The Clickvault dashboard needs JavaScript.</noscript></div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
  writeFileSync(join(outDir, 'index.html'), html);
  return { dir: outDir, assets: outputs, jsGzipBytes: gz(js), cssGzipBytes: gz(css) };
}
