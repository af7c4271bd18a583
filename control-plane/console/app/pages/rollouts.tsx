import { useEffect, useRef, useState } from 'preact/hooks';
import {
  canMoveRollout,
  isRolloutEnded,
  ROLLOUT_ACTIONS,
  type RolloutAction,
} from '../../../../core/rollouts/lifecycle.js';
import type { Rollout, RolloutTenant, WaveProgress } from '../../../../core/rollouts/records.js';
import { api, followEvents } from '../api.js';
import { ProgressBar } from '../charts.js';
import { useSession } from '../session.js';
import { Badge, EmptyRow, ErrorBox, Pager, TableWrap, useLoad } from '../ui.js';
import type { Tier } from './tiers.js';

/**
 * Rollouts (docs/rollouts.md): the list with each wave's progress, and a rollout's page with its
 * waves, each tenant's outcome, the controls (pause, resume, abort) and the brake (PATCH
 * maxConcurrency and failure budget). Both refresh by themselves while a rollout moves.
 */

type View = { rollout: Rollout; waves: WaveProgress[] };

const LIST_PAGE = 20;
/** Tenants listed per wave on a rollout's page; a wave of thousands says how many more. */
const WAVE_ROWS = 100;
const POLL_MS = 1500;

const targetsOf = (r: Rollout) =>
  Object.entries(r.targets)
    .map(([isolation, version]) => `${isolation} → ${version}`)
    .join(', ');

function WaveBar({ wave }: { wave: WaveProgress }) {
  return (
    <ProgressBar
      label={wave.name}
      segments={[
        { name: 'done', value: wave.succeeded, kind: 'seg-done' },
        { name: 'failed', value: wave.failed + wave.skipped, kind: 'seg-failed' },
        { name: 'running', value: wave.running + wave.busy, kind: 'seg-running' },
        { name: 'remaining', value: wave.remaining, kind: 'seg-remaining' },
      ]}
    />
  );
}

const waveText = (w: WaveProgress) =>
  `${w.succeeded}/${w.total} done, ${w.failed} failed, ${w.running} running${w.busy ? `, ${w.busy} busy` : ''}${w.skipped ? `, ${w.skipped} skipped` : ''}, ${w.remaining} remaining`;

function eta(seconds: number | undefined): string {
  if (seconds === undefined) return '';
  if (seconds < 60) return `ETA ${Math.round(seconds)}s`;
  return `ETA ${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
}

/** Moving: not ended, or stopped with updates still finishing. */
const moving = (r: Rollout) => !isRolloutEnded(r.status) || r.counts.inflight > 0;

/** Reloads every POLL_MS while `active`, and on any event of the stream (tenant updates). */
function useLive(active: boolean, reload: () => void): void {
  useEffect(() => {
    if (!active) return;
    const t = setInterval(reload, POLL_MS);
    return () => clearInterval(t);
  }, [active]);
  useEffect(() => {
    if (!active) return;
    const stop = new AbortController();
    let queued = false;
    void followEvents(
      {},
      () => {
        if (queued) return;
        queued = true;
        setTimeout(() => {
          queued = false;
          reload();
        }, 250);
      },
      stop.signal,
    );
    return () => stop.abort();
  }, [active]);
}

type TemplateVersion = { isolation: string; versionId: string; latest: boolean; tenants: number };

/** POST /v1/rollouts from a form: tiers, target, a wave per tier or one wave, canary, brakes. */
function StartRollout() {
  const session = useSession();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const tiers = useLoad(() => api<{ tiers: Tier[] }>('GET', '/v1/tiers'), []);
  const versions = useLoad(
    async () =>
      session.may('GET', '/v1/templates')
        ? (await api<{ versions: TemplateVersion[] }>('GET', '/v1/templates')).versions
        : [],
    [],
  );
  const submit = async (e: Event) => {
    e.preventDefault();
    const d = new FormData(e.target as HTMLFormElement);
    const chosen = d.getAll('tiers').map(String);
    const num = (k: string) => {
      const v = String(d.get(k) ?? '').trim();
      return v === '' ? undefined : Number(v);
    };
    const budget = num('budget');
    const canary = num('canary');
    const body = {
      tiers: chosen,
      targetVersion: String(d.get('target') ?? 'latest'),
      waves: d.get('wavePerTier') === 'on' ? chosen.map((t) => ({ tiers: [t] })) : [],
      ...(num('maxConcurrency') !== undefined ? { maxConcurrency: num('maxConcurrency') } : {}),
      ...(budget !== undefined ? { failureBudget: { [String(d.get('unit'))]: budget } } : {}),
      ...(canary ? { canary: { count: canary, bakeSeconds: num('canaryBake') ?? 0 } } : {}),
      ...(num('bake') !== undefined ? { bakeSeconds: num('bake') } : {}),
      onFailure: String(d.get('onFailure') ?? 'pause'),
    };
    setBusy(true);
    setError(undefined);
    try {
      const view = await api<View>('POST', '/v1/rollouts', { body, idempotent: true });
      location.hash = `#/rollouts/${view.rollout.rolloutId}`;
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card form start-rollout" onSubmit={submit} aria-label="Start a rollout">
      <h2>Start a rollout</h2>
      <fieldset>
        <legend>Tiers</legend>
        {(tiers.value?.tiers ?? []).map((t) => (
          <label class="check" key={t.name}>
            <input type="checkbox" name="tiers" value={t.name} /> {t.name} ({t.isolation})
          </label>
        ))}
      </fieldset>
      <label class="check">
        <input type="checkbox" name="wavePerTier" /> A wave per tier, in this order
      </label>
      <label>
        Target version
        <select name="target">
          <option value="latest">latest (each isolation model's)</option>
          {(versions.value ?? []).map((v) => (
            <option key={`${v.isolation}-${v.versionId}`} value={v.versionId}>
              {v.isolation} {v.versionId}
              {v.latest ? ' (latest)' : ''}, {v.tenants} tenants
            </option>
          ))}
        </select>
      </label>
      <div class="form-row">
        <label>
          Canary tenants <input name="canary" type="number" min={1} max={100} />
        </label>
        <label>
          Canary bake (s) <input name="canaryBake" type="number" min={0} />
        </label>
        <label>
          Bake between waves (s) <input name="bake" type="number" min={0} />
        </label>
      </div>
      <div class="form-row">
        <BrakeFields maxConcurrency="10" budget="0" />
        <label>
          On failure
          <select name="onFailure">
            <option value="pause">pause</option>
            <option value="abort">abort</option>
            <option value="rollback">roll back</option>
          </select>
        </label>
      </div>
      <ErrorBox error={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Starting…' : 'Start rollout'}
      </button>
    </form>
  );
}

export function RolloutsPage() {
  const session = useSession();
  const [showStart, setShowStart] = useState(false);
  const [page, setPage] = useState(0);
  // A rollout whose record has not changed (same version) keeps its view: a refresh reads only the moving ones.
  const cache = useRef(new Map<string, View>());
  const list = useLoad(async () => {
    const { items } = await api<{ items: Rollout[] }>('GET', '/v1/rollouts');
    const shown = items.slice(page * LIST_PAGE, (page + 1) * LIST_PAGE);
    const views = await Promise.all(
      shown.map(async (r) => {
        const known = cache.current.get(r.rolloutId);
        if (known && known.rollout.version === r.version) return known;
        const view = await api<View>('GET', `/v1/rollouts/${encodeURIComponent(r.rolloutId)}`);
        cache.current.set(r.rolloutId, view);
        return view;
      }),
    );
    return { total: items.length, views };
  }, [page]);
  const views = list.value?.views ?? [];
  useLive(
    views.some((v) => moving(v.rollout)),
    list.reload,
  );
  const pages = Math.max(1, Math.ceil((list.value?.total ?? 0) / LIST_PAGE));
  return (
    <div>
      <div class="page-head">
        <h1>Rollouts</h1>
        {session.may('POST', '/v1/rollouts') ? (
          <button type="button" onClick={() => setShowStart(!showStart)} aria-expanded={showStart}>
            Start a rollout
          </button>
        ) : null}
      </div>
      {showStart ? <StartRollout /> : null}
      <ErrorBox error={list.error} />
      <TableWrap label="Rollouts">
        <thead>
          <tr>
            <th scope="col">Rollout</th>
            <th scope="col">Status</th>
            <th scope="col">Target</th>
            <th scope="col">Progress per wave</th>
            <th scope="col">Failed / budget</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {views.map(({ rollout: r, waves }) => (
            <tr key={r.rolloutId}>
              <td>
                <a href={`#/rollouts/${r.rolloutId}`}>{r.rolloutId}</a>
              </td>
              <td>
                <Badge value={r.status} />
              </td>
              <td>{targetsOf(r)}</td>
              <td class="waves-cell">
                {waves.map((w) => (
                  <div class="wave-mini" key={w.name}>
                    <span>{w.name}</span>
                    <WaveBar wave={w} />
                    <span class="muted">
                      {w.succeeded}/{w.total}
                    </span>
                  </div>
                ))}
              </td>
              <td>
                {r.counts.failed} / {r.budget}
              </td>
              <td>{new Date(r.createdAt).toLocaleString()}</td>
            </tr>
          ))}
          <EmptyRow shown={views.length === 0 && !list.loading} columns={6} text="no rollouts" />
        </tbody>
      </TableWrap>
      <Pager
        label={`page ${page + 1} of ${pages}`}
        onPrevious={page === 0 ? undefined : () => setPage(page - 1)}
        onNext={page + 1 >= pages ? undefined : () => setPage(page + 1)}
      />
    </div>
  );
}

function Controls({ view, onChange }: { view: View; onChange: () => void }) {
  const session = useSession();
  const r = view.rollout;
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const base = `/v1/rollouts/${encodeURIComponent(r.rolloutId)}`;
  const call = async (method: 'POST' | 'PATCH', path: string, body: unknown) => {
    setBusy(true);
    setError(undefined);
    try {
      await api<View>(method, path, { body });
      onChange();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const actions = (Object.keys(ROLLOUT_ACTIONS) as RolloutAction[]).filter(
    (a) =>
      session.may('POST', `/v1/rollouts/{rolloutId}/${a}`) && canMoveRollout(r.status, ROLLOUT_ACTIONS[a]),
  );
  const brake = session.may('PATCH', '/v1/rollouts/{rolloutId}') && !isRolloutEnded(r.status);
  if (actions.length === 0 && !brake) return null;
  const submitBrake = (e: Event) => {
    e.preventDefault();
    const d = new FormData(e.target as HTMLFormElement);
    const patch: Record<string, unknown> = {};
    const max = String(d.get('maxConcurrency') ?? '').trim();
    const budget = String(d.get('budget') ?? '').trim();
    if (max) patch.maxConcurrency = Number(max);
    if (budget) patch.failureBudget = { [String(d.get('unit'))]: Number(budget) };
    void call('PATCH', base, patch);
  };
  return (
    <section class="card actions" aria-label="Actions">
      <h2>Actions</h2>
      <ErrorBox error={error} />
      {actions.length ? (
        <div class="row">
          {actions.map((a) => (
            <button
              type="button"
              key={a}
              class={a === 'abort' ? 'danger' : undefined}
              disabled={busy}
              onClick={() => void call('POST', `${base}/${a}`, {})}
            >
              {a[0]!.toUpperCase() + a.slice(1)}
            </button>
          ))}
        </div>
      ) : null}
      {brake ? (
        <form onSubmit={submitBrake} aria-label="Brake">
          <BrakeFields maxConcurrency={String(r.maxConcurrency)} budget={String(r.budget)} />
          <button type="submit" disabled={busy}>
            Apply brake
          </button>
        </form>
      ) : null}
    </section>
  );
}

function WaveSection({
  rollout,
  index,
  wave,
  outcomes,
}: {
  rollout: Rollout;
  index: number;
  wave: WaveProgress;
  outcomes: Map<string, RolloutTenant> | undefined;
}) {
  const ids = rollout.waves[index]?.tenantIds ?? [];
  const current = index === rollout.currentWave && !isRolloutEnded(rollout.status);
  return (
    <section class="wave" aria-label={`Wave ${wave.name}`}>
      <h3>
        {wave.name}
        {wave.canary ? ' (canary)' : ''}
        {current ? <span class="badge badge-running">current</span> : null}
      </h3>
      <WaveBar wave={wave} />
      <p class="wave-text">
        {waveText(wave)}{' '}
        <span class="muted">{eta(wave.remaining + wave.running > 0 ? wave.etaSeconds : undefined)}</span>
      </p>
      {outcomes ? (
        <TableWrap label={`Tenants of wave ${wave.name}`}>
          <thead>
            <tr>
              <th scope="col">Tenant</th>
              <th scope="col">Outcome</th>
              <th scope="col">Version</th>
              <th scope="col">Operation</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {ids.slice(0, WAVE_ROWS).map((id) => {
              const t = outcomes.get(id);
              return (
                <tr key={id}>
                  <td>
                    <a href={`#/tenants/${id}`}>{id}</a>
                  </td>
                  <td>{t ? <Badge value={t.status} /> : <span class="muted">not started</span>}</td>
                  <td>{t ? `${t.fromVersion ?? '?'} → ${t.toVersion}` : ''}</td>
                  <td>
                    {t?.operationId ? <a href={`#/operations/${t.operationId}`}>{t.operationId}</a> : ''}
                  </td>
                  <td class="error-text">{t?.error ? `${t.error.code}: ${t.error.message}` : ''}</td>
                </tr>
              );
            })}
          </tbody>
        </TableWrap>
      ) : null}
      {ids.length > WAVE_ROWS ? <p class="muted">and {ids.length - WAVE_ROWS} more tenants</p> : null}
    </section>
  );
}

export function RolloutPage({ id }: { id: string }) {
  const session = useSession();
  const path = `/v1/rollouts/${encodeURIComponent(id)}`;
  const perTenant = session.may('GET', '/v1/rollouts/{rolloutId}/tenants');
  const data = useLoad(async () => {
    const [view, tenants] = await Promise.all([
      api<View>('GET', path),
      perTenant ? api<{ items: RolloutTenant[] }>('GET', `${path}/tenants`) : undefined,
    ]);
    return { view, outcomes: tenants ? new Map(tenants.items.map((t) => [t.tenantId, t])) : undefined };
  }, [id]);
  const view = data.value?.view;
  useLive(view ? moving(view.rollout) : false, data.reload);
  if (data.error && !view) return <ErrorBox error={data.error} />;
  if (!view) return <p class="muted">loading…</p>;
  const r = view.rollout;
  const facts: [string, string | undefined][] = [
    ['Target', targetsOf(r)],
    ['Max concurrency', String(r.maxConcurrency)],
    ['Failure budget', `${r.budget} (${r.counts.failed} failed, ${r.counts.inflight} in flight)`],
    ['On failure', r.onFailure],
    ['Started by', r.actor],
    ['Created', new Date(r.createdAt).toLocaleString()],
    ['Started', r.startedAt ? new Date(r.startedAt).toLocaleString() : undefined],
    ['Ended', r.endedAt ? new Date(r.endedAt).toLocaleString() : undefined],
    ['Reason', r.reason],
  ];
  return (
    <div>
      <p>
        <a href="#/rollouts">← Rollouts</a>
      </p>
      <div class="page-head">
        <h1>
          Rollout <small>{r.rolloutId}</small>
        </h1>
        <Badge value={r.status} />
      </div>
      <ErrorBox error={data.error} />
      <dl class="facts">
        {facts
          .filter((f): f is [string, string] => f[1] !== undefined)
          .map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        {r.rollbackOf ? (
          <div>
            <dt>Rolls back</dt>
            <dd>
              <a href={`#/rollouts/${r.rollbackOf}`}>{r.rollbackOf}</a>
            </dd>
          </div>
        ) : null}
        {r.rolledBackBy ? (
          <div>
            <dt>Rolled back by</dt>
            <dd>
              <a href={`#/rollouts/${r.rolledBackBy}`}>{r.rolledBackBy}</a>
            </dd>
          </div>
        ) : null}
      </dl>
      <Controls view={view} onChange={data.reload} />
      <h2>Waves</h2>
      <div aria-live="polite">
        {view.waves.map((w, i) => (
          <WaveSection key={w.name} rollout={r} index={i} wave={w} outcomes={data.value?.outcomes} />
        ))}
      </div>
    </div>
  );
}

/** The brake's fields, in the start form and the brake form alike (placeholders: the current values). */
function BrakeFields({ maxConcurrency, budget }: { maxConcurrency: string; budget: string }) {
  return (
    <>
      <label>
        Max concurrency
        <input name="maxConcurrency" type="number" min={1} max={1000} placeholder={maxConcurrency} />
      </label>
      <label>
        Failure budget <input name="budget" type="number" min={0} step="any" placeholder={budget} />
      </label>
      <label>
        Budget unit
        <select name="unit">
          <option value="count">tenants</option>
          <option value="percent">percent</option>
        </select>
      </label>
    </>
  );
}
