/** The live log, a click's trace, the dead-letter queue and the setup URLs. */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api';
import type { State } from './state';

type Entry = Record<string, unknown> & { receivedAt: string; channel: string; clickId: string; outcome: string; httpStatus: number; answer: string };
const t = (v: unknown) => (v === undefined || v === null || v === '' ? '-' : String(v));

function useApi<T>(path: string, params: Record<string, string | undefined>, every?: number): { data?: T; error?: string; reload: () => void } {
  const [data, setData] = useState<T | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [tick, setTick] = useState(0);
  const key = JSON.stringify(params);
  useEffect(() => {
    let live = true;
    api<T>(path, params)
      .then((d) => {
        if (live) {
          setData(d);
          setError(undefined);
        }
      })
      .catch((e: Error) => live && setError(e.message));
    const timer = every ? setTimeout(() => setTick((n) => n + 1), every) : undefined;
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [path, key, tick]);
  return { data, error, reload: () => setTick((n) => n + 1) };
}

function ClickLink({ id, go }: { id: string; go: (next: Partial<State>) => void }) {
  if (!id || id === '~none') return <span class="muted">(none)</span>;
  return (
    <a href={`?view=trace&click=${encodeURIComponent(id)}`} onClick={(e) => (e.preventDefault(), go({ view: 'trace', click: id }))}>
      {id}
    </a>
  );
}

function InboundTable({ entries, go }: { entries: Entry[]; go: (next: Partial<State>) => void }) {
  return (
    <div class="scroll">
      <table id="inbound">
        <thead>
          <tr>
            <th>received</th>
            <th>via</th>
            <th>click id</th>
            <th>type</th>
            <th>amount</th>
            <th>txid</th>
            <th>outcome</th>
            <th>answer</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr class={`outcome-${String(e.outcome).replace(/[^a-z_]/g, '')}`}>
              <td>{t(e.receivedAt)}</td>
              <td>{t(e.channel)}</td>
              <td>
                <ClickLink id={e.clickId} go={go} />
              </td>
              <td>{t(e.type)}</td>
              <td>{e.revenue !== undefined ? `${t(e.revenue)} ${t(e.currency)}` : '-'}</td>
              <td>{t(e.txid)}</td>
              <td>
                {t(e.outcome)}
                {e.reason ? ` (${t(e.reason)})` : ''}
              </td>
              <td>
                {t(e.httpStatus)}: {t(e.answer)}
                {e.detail ? ` — ${t(e.detail)}` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {entries.length === 0 && <p class="muted">Nothing received yet.</p>}
    </div>
  );
}

function ClickSearch({ go, initial = '' }: { go: (next: Partial<State>) => void; initial?: string }) {
  const [value, setValue] = useState(initial);
  return (
    <form
      class="controls"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim()) go({ view: 'trace', click: value.trim() });
      }}
    >
      <label>
        Click id <input name="click" value={value} maxLength={64} onInput={(e) => setValue((e.target as HTMLInputElement).value)} placeholder="01J…" />
      </label>
      <button type="submit">Trace</button>
    </form>
  );
}

export function LiveView({ go }: { go: (next: Partial<State>) => void }) {
  const { data, error } = useApi<{ entries: Entry[] }>('inbound', { limit: '50' }, 5000);
  return (
    <section>
      <ClickSearch go={go} />
      <p class="muted">The latest postbacks, pixels and IPN calls with what was done and the answer given; refreshed every 5 seconds.</p>
      {error && <p class="error">{error}</p>}
      {data && <InboundTable entries={data.entries} go={go} />}
    </section>
  );
}

interface Trace {
  clickId: string;
  found: boolean;
  click?: Record<string, unknown> & { subs?: Record<string, string> };
  inbound: Entry[];
  conversions: Record<string, unknown>[];
  queued: Record<string, unknown>[];
}

function Fields({ record, id }: { record: Record<string, unknown>; id?: string }) {
  return (
    <dl class="fields" id={id}>
      {Object.entries(record).map(([k, v]) => (
        <div>
          <dt>{k}</dt>
          <dd>{typeof v === 'object' && v !== null ? JSON.stringify(v) : t(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

export function TraceView({ state, go }: { state: State; go: (next: Partial<State>) => void }) {
  const { data, error } = useApi<Trace>(`trace/${encodeURIComponent(state.click)}`, {});
  return (
    <section>
      <ClickSearch go={go} initial={state.click} />
      {error && <p class="error">{error}</p>}
      {data && !data.found && <p class="notice">Nothing is stored for this click id (never made, or expired).</p>}
      {data?.click && (
        <>
          <h2>Click</h2>
          <Fields record={data.click} id="trace-click" />
        </>
      )}
      {data && data.inbound.length > 0 && (
        <>
          <h2>Postbacks, pixels, IPN</h2>
          <InboundTable entries={data.inbound} go={go} />
        </>
      )}
      {data && data.conversions.length > 0 && (
        <>
          <h2>Conversions</h2>
          {data.conversions.map((c) => (
            <Fields record={c} />
          ))}
        </>
      )}
      {data && data.queued.length > 0 && (
        <>
          <h2>Waiting in the dead-letter queue</h2>
          {data.queued.map((c) => (
            <Fields record={c} />
          ))}
        </>
      )}
    </section>
  );
}

interface Dlq {
  total: number;
  complete: boolean;
  reasons: { reason: string; count: number; archived: number; oldest: string; advice: string }[];
  messages: Record<string, unknown>[];
}

export function DlqView({ go }: { go: (next: Partial<State>) => void }) {
  const { data, error, reload } = useApi<Dlq>('dlq', {});
  return (
    <section>
      <p class="muted">
        Requests that could not be recorded wait here to be replayed (<code>npm run redrive</code>). Read when you open this view.{' '}
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </p>
      {error && <p class="error">{error}</p>}
      {data && data.total === 0 && <p id="dlq-empty">The dead-letter queue and its archive are empty.</p>}
      {data && data.total > 0 && (
        <>
          <table id="dlq">
            <thead>
              <tr>
                <th>reason</th>
                <th>waiting</th>
                <th>in the archive</th>
                <th>oldest</th>
                <th>what to do</th>
              </tr>
            </thead>
            <tbody>
              {data.reasons.map((r) => (
                <tr>
                  <th>{r.reason}</th>
                  <td>{r.count}</td>
                  <td>{r.archived}</td>
                  <td>{r.oldest}</td>
                  <td>{r.advice}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {!data.complete && <p class="notice">More than {data.total} messages: counts are of the first {data.total}.</p>}
          <h2>Latest</h2>
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th>received</th>
                  <th>kind</th>
                  <th>reason</th>
                  <th>click id</th>
                  <th>replays</th>
                  <th>detail</th>
                </tr>
              </thead>
              <tbody>
                {data.messages.map((m) => (
                  <tr>
                    <td>{t(m.receivedAt)}</td>
                    <td>{t(m.kind)}</td>
                    <td>{t(m.reason)}</td>
                    <td>
                      <ClickLink id={typeof m.clickId === 'string' ? m.clickId : ''} go={go} />
                    </td>
                    <td>{t(m.attempts)}</td>
                    <td>{t(m.detail)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

interface Setup {
  baseUrl: string;
  urls: { affiliateS2S: string; vendorS2S: string; pixel: string; ipn: string };
  keyShown: boolean;
  ipnConfigured: boolean;
  scriptUrl: string;
  goUrl: string;
  campaigns: { campaignId: string; name: string; clickUrl: string; cost: boolean; directTracking: boolean; landers: { landerId: string; name: string; url: string }[] }[];
  warnings: string[];
}

function Copy({ label, value, id }: { label: string; value: string; id?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="copy">
      <span class="label">{label}</span>
      <code id={id}>{value}</code>
      <button
        type="button"
        onClick={() => {
          void navigator.clipboard?.writeText(value).then(() => {
            setCopied(true);
            setTimeout(() => setCopied(false), 1500);
          });
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

export function SetupView() {
  const { data, error } = useApi<Setup>('setup', {});
  // Without a custom domain the API does not know the tracking origin: it is this page's own.
  const abs = (url: string) => (data?.baseUrl ? url : `${location.origin}${url}`);
  return (
    <section>
      {error && <p class="error">{error}</p>}
      {data?.warnings.map((w) => (
        <p class="notice">{w}</p>
      ))}
      {data && (
        <>
          <h2>Digistore24</h2>
          <Copy id="url-affiliate" label="Affiliate S2S postback (append one macro, e.g. {transaction_type})" value={abs(data.urls.affiliateS2S)} />
          <Copy id="url-vendor" label="Vendor S2S postback, own product (net amount without VAT)" value={abs(data.urls.vendorS2S)} />
          <Copy id="url-pixel" label="Order-form pixel (Initiate Checkout; never carries the key)" value={abs(data.urls.pixel)} />
          <Copy id="url-ipn" label={`IPN URL (vendors${data.ipnConfigured ? '' : '; answers 404 until digistore24.ipn is in the config'})`} value={abs(data.urls.ipn)} />
          {data.keyShown && <p class="notice">The S2S URLs contain the postback key: treat them like a password.</p>}
          <h2>Campaign click URLs</h2>
          {data.campaigns.map((c) => (
            <Copy label={`${c.campaignId} (${c.name}): ad destination; sub1..sub20${c.cost ? ' and cost' : ''} optional`} value={`${abs(c.clickUrl)}?sub1=`} />
          ))}
          {data.campaigns.some((c) => c.directTracking) && (
            <>
              <h2>Lander script (direct tracking)</h2>
              <p class="muted">
                Put the campaign's tag on its lander (or on an ad's direct destination): it takes the click id from the page URL or makes
                the click, and adds the click id to every link to <code>/go</code>.
              </p>
              {data.campaigns
                .filter((c) => c.directTracking)
                .map((c) => (
                  <Copy
                    id={`script-${c.campaignId}`}
                    label={`${c.campaignId} (${c.name})${c.landers.length > 0 ? `: landers ${c.landers.map((l) => `${l.name} ${l.url}`).join(', ')}` : ''}`}
                    value={`<script src="${abs(data.scriptUrl)}" data-campaign="${c.campaignId}" async></script>`}
                  />
                ))}
              <Copy id="url-go" label="Lander call-to-action link (the offer; t.js fills in the click id)" value={abs(data.goUrl)} />
            </>
          )}
        </>
      )}
    </section>
  );
}
