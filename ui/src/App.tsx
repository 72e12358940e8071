import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense, useMemo, useSyncExternalStore } from 'react';
import { shouldRetry } from './api/client';
import { botsQuery } from './api/queries';
import { resetPositions } from './api/consistency';
import { getToken, onTokenChange, setToken } from './auth';
import { ConnectionIndicator } from './components/ConnectionIndicator';
import { ErrorBoundary } from './components/ErrorBoundary';
import { LiveProvider } from './live/LiveProvider';
import { Dashboard } from './pages/Dashboard';
import { Login } from './pages/Login';
import { Link, matchPath, useLocation } from './router';

// Pages other than the dashboard load on first visit, so the dashboard comes up first.
const BotEditor = lazy(() => import('./pages/BotEditor'));
const Audit = lazy(() => import('./pages/Audit'));
const Trades = lazy(() => import('./pages/Trades'));
const Backtests = lazy(() => import('./pages/Backtests'));

function newClient() {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: shouldRetry, staleTime: 5_000, refetchOnWindowFocus: false },
      mutations: { retry: false },
    },
  });
}

export function App() {
  const token = useSyncExternalStore(onTokenChange, getToken);
  // A new cache per token: nothing read with an earlier token survives signing out.
  const client = useMemo(() => {
    resetPositions();
    const fresh = newClient();
    // Every page shows the bots: ask for them now, not after the first render commits.
    if (token) void fresh.prefetchQuery(botsQuery());
    return fresh;
  }, [token]);
  if (!token) return <Login />;
  return (
    <QueryClientProvider client={client}>
      <LiveProvider token={token}>
        <Shell />
      </LiveProvider>
    </QueryClientProvider>
  );
}

const NAV = [
  { to: '/', label: 'Dashboard' },
  { to: '/trades', label: 'Trades' },
  { to: '/backtests', label: 'Backtests' },
  { to: '/bots/new', label: 'New bot' },
];

function Shell() {
  const { path } = useLocation();
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand">
          Openbell
        </Link>
        <nav aria-label="Main">
          {NAV.map((item) => (
            <Link key={item.to} to={item.to} aria-current={path === item.to ? 'page' : undefined}>
              {item.label}
            </Link>
          ))}
        </nav>
        <ConnectionIndicator />
        <button type="button" className="link" onClick={() => setToken(null)}>
          Sign out
        </button>
      </header>
      <main id="main">
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <ErrorBoundary key={path} what="This page">
            <Page path={path} />
          </ErrorBoundary>
        </Suspense>
      </main>
    </>
  );
}

function Page({ path }: { path: string }) {
  if (path === '/') return <Dashboard />;
  if (path === '/trades') return <Trades />;
  if (path === '/backtests') return <Backtests />;
  if (path === '/bots/new') return <BotEditor id={null} />;
  const edit = matchPath('/bots/:id/edit', path);
  if (edit) return <BotEditor id={edit.id} key={edit.id} />;
  const audit = matchPath('/bots/:id/audit', path);
  if (audit) return <Audit id={audit.id} key={audit.id} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        Nothing at {path}. <Link to="/">Back to the dashboard</Link>
      </p>
    </section>
  );
}
