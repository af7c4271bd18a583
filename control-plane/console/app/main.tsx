import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, loadCredential, setCredential } from './api.js';
import { offered, offeredPages } from './nav.js';
import { CostPage } from './pages/costs.js';
import { ExtraPage } from './pages/extras.js';
import { HealthPage } from './pages/health.js';
import { OperationPage } from './pages/operation.js';
import { RolloutPage, RolloutsPage } from './pages/rollouts.js';
import { TenantPage } from './pages/tenant.js';
import { TenantsPage } from './pages/tenants.js';
import { TiersPage } from './pages/tiers.js';
import { Session, SessionContext, type WhoAmI } from './session.js';
import { ErrorBox } from './ui.js';

/**
 * The admin console: hash routes (#/tenants, #/tenants/<id>, #/operations/<id>, #/tiers, and, when
 * the API has them, #/rollouts[/<id>], #/health, #/costs[/<from>/<to>[/<granularity>]], #/quotas).
 */

async function signIn(): Promise<Session> {
  const [who, openapi] = await Promise.all([
    api<WhoAmI>('GET', '/v1/whoami'),
    api<Record<string, unknown>>('GET', '/openapi.json'),
  ]);
  return new Session(who, openapi);
}

function SignIn({ onSession, error: initial }: { onSession: (s: Session) => void; error?: unknown }) {
  const [error, setError] = useState<unknown>(initial);
  const [busy, setBusy] = useState(false);
  // The page's one field takes the keyboard at once: signing in is all this page is for.
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => field.current?.focus(), []);
  async function submit(e: Event) {
    e.preventDefault();
    const value = String(new FormData(e.target as HTMLFormElement).get('credential') ?? '').trim();
    setBusy(true);
    setError(undefined);
    setCredential(value);
    try {
      onSession(await signIn());
    } catch (err) {
      setCredential(undefined);
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <main class="signin">
      <form class="card form" onSubmit={submit} aria-label="Sign in">
        <h1>Tenant control plane</h1>
        <p>Sign in with an API key or an operator JWT. It stays in this tab only.</p>
        <label>
          API key or JWT
          <input ref={field} name="credential" type="password" autoComplete="off" required />
        </label>
        <ErrorBox error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** `-` in a path segment stands for "not given" (#/costs/-/2026-12-01). */
const given = (v: string | undefined) => (v && v !== '-' ? v : undefined);

function Page({ route, session }: { route: string[]; session: Session }) {
  const [section, id] = route;
  if (section === 'tenants' && id) return <TenantPage id={id} />;
  if (section === 'operations' && id) return <OperationPage id={id} />;
  if (section === 'tiers') return <TiersPage />;
  if (section === 'rollouts' && offered(session, 'rollouts'))
    return id ? <RolloutPage key={id} id={id} /> : <RolloutsPage />;
  if (section === 'health' && offered(session, 'health')) return <HealthPage />;
  if (section === 'costs' && offered(session, 'costs')) {
    const [from, to, granularity] = [given(route[1]), given(route[2]), given(route[3])];
    return (
      <CostPage
        key={route.join('/')}
        {...(from ? { from } : {})}
        {...(to ? { to } : {})}
        {...(granularity ? { granularity } : {})}
      />
    );
  }
  if (section === 'quotas' && offered(session, 'quotas'))
    return <ExtraPage title="Quotas" path="/v1/quotas" />;
  return <TenantsPage />;
}

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const route = useRoute();
  const current = route[0] ?? 'tenants';
  const link = (key: string, title: string) => (
    <li key={key}>
      <a href={`#/${key}`} aria-current={current === key ? 'page' : undefined}>
        {title}
      </a>
    </li>
  );
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <nav aria-label="Main">
          <strong class="brand">Tenant control plane</strong>
          <ul>
            {link('tenants', 'Tenants')}
            {link('tiers', 'Tiers')}
            {offeredPages(session).map((p) => link(p.key, p.title))}
          </ul>
        </nav>
        <div class="who">
          <span title={session.who.scopes.join(', ')}>{session.who.actor}</span>
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} session={session} />
      </main>
    </>
  );
}

function App() {
  const [session, setSession] = useState<Session>();
  const [error, setError] = useState<unknown>();
  const [checking, setChecking] = useState(Boolean(loadCredential()));
  useEffect(() => {
    if (!loadCredential()) return;
    signIn()
      .then(setSession, (e) => {
        if (e instanceof ApiError && e.status === 401) setCredential(undefined);
        setError(e);
      })
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p class="muted">signing in…</p>;
  if (!session) return <SignIn onSession={setSession} error={error} />;
  return (
    <SessionContext.Provider value={session}>
      <Shell
        session={session}
        onSignOut={() => {
          setCredential(undefined);
          setSession(undefined);
          setError(undefined);
        }}
      />
    </SessionContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
