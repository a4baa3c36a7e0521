/**
 * Clickvault direct tracking, served minified as GET /t.js (scripts/build-tracker-script.ts
 * builds it; test/web checks it is built and at most 3 KB). On a lander:
 *
 *   <script src="https://TRACKING_DOMAIN/t.js" data-campaign="demo" async></script>
 *
 * The click id comes from the page URL (`clickid` or `cid`, else any query value or path segment
 * that is a well-formed click id: the visitor came through /click, whichever way the lander's URL
 * template carries it), else from this script's first-party cookie for the campaign (a reload or a
 * later visit), else a click is made by GET /click/<campaign>?format=json with the page's ad
 * parameters. The id is kept in a cookie on the lander's own domain, added to every link to
 * /go on the tracking domain and to every Digistore24 link (`cid=`), and exposed as
 * `window.clickvault.clickid` (and a `clickvault:clickid` event on window).
 *
 * `data-consent="required"`: no cookie and no click until the page calls
 * `window.clickvault.consent(true)` (a cookie banner's callback); `consent(false)` forgets it.
 * `data-days="N"`: how long the cookie keeps the id (default 30).
 *
 * No dependencies, no eval, no inline code: a page's CSP needs only `script-src` and
 * `connect-src` for the tracking domain.
 */
interface Clickvault {
  clickid?: string;
  consent(granted: boolean): void;
}

(() => {
  const script = document.currentScript as HTMLScriptElement | null;
  if (!script) return;
  const attr = (name: string) => script.getAttribute(`data-${name}`) || '';
  const campaign = attr('campaign');
  if (!/^[\w-]{1,64}$/.test(campaign)) {
    console.warn('clickvault: data-campaign must name a campaign');
    return;
  }
  const base = new URL(script.src).origin;
  const ID = /^[0-9A-HJKMNP-TV-Z]{30}$/;
  const cookieName = `cv_${campaign}`;
  const days = Math.min(Math.max(Number(attr('days')) || 30, 1), 3650);
  const query = new URLSearchParams(location.search);
  // The ad parameters (sub1.., the channel's click id, cost): what a click records. A visit whose
  // ad parameters differ from the saved click's is a new ad click; a reload is not.
  const ad = new URLSearchParams(location.search);
  for (const name of ['clickid', 'cid', 'format', 'page', 'ref', '_fbp', '_fbc']) ad.delete(name);
  let signature = 2166136261;
  for (const ch of ad.toString()) signature = Math.imul(signature ^ ch.charCodeAt(0), 16777619);
  const adKey = (signature >>> 0).toString(36);

  const cookie = (name: string) => {
    const match = document.cookie.match(new RegExp(`(?:^|; )${name}=([^;]*)`));
    return match ? decodeURIComponent(match[1] || '') : '';
  };
  const setCookie = (value: string, seconds: number) => {
    document.cookie = `${cookieName}=${value}; Max-Age=${seconds}; Path=/; SameSite=Lax${location.protocol === 'https:' ? '; Secure' : ''}`;
  };

  let started = false;
  let observing = false;
  const cv: Clickvault = {
    consent(granted) {
      if (granted) return start();
      started = false;
      cv.clickid = undefined;
      setCookie('', 0);
    },
  };
  (window as unknown as { clickvault: Clickvault }).clickvault = cv;

  const decorate = () => {
    const id = cv.clickid;
    if (!id) return;
    document.querySelectorAll<HTMLAnchorElement>('a[href]').forEach((a) => {
      let url: URL;
      try {
        url = new URL(a.href);
      } catch {
        return;
      }
      const param =
        url.origin === base && url.pathname === '/go' ? 'clickid' : /(^|\.)(digistore24|checkout-ds24)\.com$/.test(url.hostname) ? 'cid' : '';
      if (param && url.searchParams.get(param) !== id) {
        url.searchParams.set(param, id);
        a.href = url.href;
      }
    });
  };

  const use = (id: string) => {
    if (!started) return;
    cv.clickid = id;
    setCookie(`${id}.${adKey}`, days * 86400);
    decorate();
    // Links added later (and the rest of a page still loading) get the id too.
    if (!observing) new MutationObserver(decorate).observe(document.documentElement, { childList: true, subtree: true });
    observing = true;
    dispatchEvent(new CustomEvent('clickvault:clickid', { detail: id }));
  };

  function start() {
    if (started) return;
    started = true;
    // `clickid` or `cid` first; else wherever the lander's URL template put {clickid} (another
    // query parameter, a path segment): any well-formed click id. Missing it would make a second click.
    const fromUrl = [query.get('clickid'), query.get('cid'), ...query.values(), ...location.pathname.split('/')].find((v) => v && ID.test(v));
    if (fromUrl) return use(fromUrl);
    const [saved = '', savedKey] = cookie(cookieName).split('.');
    if (ID.test(saved) && (savedKey === adKey || !ad.toString())) return use(saved);
    const params = new URLSearchParams(ad);
    params.set('format', 'json');
    params.set('page', location.origin + location.pathname);
    if (document.referrer) params.set('ref', document.referrer.slice(0, 1024));
    for (const name of ['_fbp', '_fbc']) {
      const value = cookie(name);
      if (value) params.set(name, value);
    }
    fetch(`${base}/click/${campaign}?${params}`, { credentials: 'omit' })
      .then((response) => response.json())
      .then((answer: { clickid?: string }) => {
        if (answer.clickid && ID.test(answer.clickid)) use(answer.clickid);
      })
      .catch(() => console.warn('clickvault: no click id (is this page a lander of the campaign, or its origin in corsOrigins?)'));
  }

  if (attr('consent') !== 'required') start();
})();
