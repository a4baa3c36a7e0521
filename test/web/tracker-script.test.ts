/**
 * The direct-tracking script GET /t.js: built from web/t.ts (the checked-in build is that
 * source's), at most 3 KB as served, no eval, served cacheable with the right type.
 */
import { buildTrackerScript, trackerScriptModule } from '../../scripts/build-tracker-script';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ORIGIN_VERIFY_HEADER } from '../../lambda/contract';
import { createScriptHandler, SCRIPT_MAX_AGE_SECONDS } from '../../lambda/handlers/script';
import { TRACKER_SCRIPT } from '../../lambda/static/tracker-script';
import { httpEvent } from '../support/events';

describe('t.js', () => {
  it('is the build of web/t.ts (run `npm run build:script` after changing it)', () => {
    const built = buildTrackerScript();
    expect(TRACKER_SCRIPT).toBe(built);
    expect(readFileSync(join(__dirname, '../../lambda/static/tracker-script.ts'), 'utf8')).toBe(trackerScriptModule(built));
  });

  it('is at most 3 KB as served (uncompressed), plain ASCII', () => {
    expect(Buffer.byteLength(TRACKER_SCRIPT, 'utf8')).toBeLessThanOrEqual(3072);
    expect(TRACKER_SCRIPT).toMatch(/^[\x20-\x7e\n]*$/);
  });

  it('needs no eval, no Function constructor, no string timers, no inline markup: a strict CSP allows it', () => {
    expect(TRACKER_SCRIPT).not.toMatch(/\beval\s*\(|new Function|Function\(|setTimeout\(\s*["'`]|setInterval\(\s*["'`]|innerHTML|document\.write|<script/);
    // It talks only to the tracking domain it was loaded from, without credentials.
    expect(TRACKER_SCRIPT).toContain('credentials:"omit"');
    expect(TRACKER_SCRIPT).toContain('SameSite=Lax');
  });

  it('is served as JavaScript, cacheable for minutes, with an ETag; HEAD without a body', async () => {
    const handler = createScriptHandler();
    const answer = await handler(httpEvent({ path: '/t.js' }));
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toBe(TRACKER_SCRIPT);
    expect(answer.headers).toMatchObject({
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': `public, max-age=${SCRIPT_MAX_AGE_SECONDS}`,
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'cross-origin',
      etag: expect.stringMatching(/^"[A-Za-z0-9_-]{22}"$/),
    });
    expect(SCRIPT_MAX_AGE_SECONDS).toBeGreaterThanOrEqual(60);
    expect(SCRIPT_MAX_AGE_SECONDS).toBeLessThanOrEqual(3600);
    const again = await handler(httpEvent({ path: '/t.js', headers: { 'if-none-match': String(answer.headers?.etag) } }));
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect((await handler(httpEvent({ method: 'HEAD', path: '/t.js' }))).body).toBe('');
  });

  it('refuses requests that bypass CloudFront', async () => {
    const handler = createScriptHandler({ originSecret: 'origin-secret' });
    expect((await handler(httpEvent({ path: '/t.js' }))).statusCode).toBe(403);
    expect((await handler(httpEvent({ path: '/t.js', headers: { [ORIGIN_VERIFY_HEADER]: 'origin-secret' } }))).statusCode).toBe(200);
  });
});
