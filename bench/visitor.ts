/**
 * The user agent the benchmarks' clicks carry: a desktop browser's. Bot detection (isbot) flags
 * Node's own fetch (`node`), `curl` and anything saying `bench`, so a benchmark click with its own
 * user agent would be stored as a bot and left out of every report's clicks.
 */
export const BROWSER_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
