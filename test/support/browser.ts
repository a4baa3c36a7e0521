/**
 * The user agent tests and benchmarks send as "a visitor". Bot detection (isbot) flags `jest`,
 * Node's fetch (`node`, `undici`), `curl` and `HeadlessChrome`, so anything that should count
 * as a person's click must look like a desktop browser; bots are tested with their own agents.
 */
export const DESKTOP_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** A link previewer, as Facebook sends it when an ad's link is shared or reviewed. */
export const FACEBOOK_PREVIEW_UA = 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)';
