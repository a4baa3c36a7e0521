/** The Clickvault dashboard: one page, query routing under /dashboard/. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { authMode, signOut, signedInAs, startAuth } from './auth';
import { ReportView, prefetchReport } from './report';
import { readState, stateSearch, type State, type View } from './state';
import { DlqView, LiveView, SetupView, TraceView } from './views';
import './style.css';

const TABS: { id: View; label: string }[] = [
  { id: 'report', label: 'Campaigns' },
  { id: 'live', label: 'Live log' },
  { id: 'dlq', label: 'Dead letters' },
  { id: 'setup', label: 'Setup' },
];

function App() {
  const [state, setState] = useState<State>(readState());
  useEffect(() => {
    const onPop = () => setState(readState());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const go = (next: Partial<State>) => {
    const merged = { ...state, ...next };
    history.pushState(null, '', `/dashboard/${stateSearch(merged)}`);
    setState(merged);
    scrollTo(0, 0);
  };
  const who = signedInAs();
  return (
    <>
      <header>
        <h1>Clickvault</h1>
        <nav class="tabs">
          {TABS.map((tab) => (
            <a href={`?view=${tab.id}`} aria-current={state.view === tab.id || (tab.id === 'live' && state.view === 'trace') ? 'page' : undefined} onClick={(e) => (e.preventDefault(), go({ view: tab.id }))}>
              {tab.label}
            </a>
          ))}
        </nav>
        <span class="who">
          {authMode() === 'none' ? (
            <span id="no-login">Local tracker: no login (only this machine can open it)</span>
          ) : (
            <>
              {who ?? 'signed in'}{' '}
              <button type="button" onClick={signOut}>
                Sign out
              </button>
            </>
          )}
        </span>
      </header>
      <main>
        {state.view === 'report' && <ReportView state={state} go={go} />}
        {state.view === 'live' && <LiveView go={go} />}
        {state.view === 'trace' && <TraceView state={state} go={go} />}
        {state.view === 'dlq' && <DlqView go={go} />}
        {state.view === 'setup' && <SetupView />}
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) {
  startAuth()
    .then(() => {
      const first = readState();
      if (first.view === 'report') prefetchReport(first);
      render(<App />, root);
    })
    .catch((err: Error) => {
      root.textContent = err.message;
    });
}
