import { useEffect, useState } from 'preact/hooks';
import type { Operation } from '../../../../core/registry/records.js';
import { api } from '../api.js';
import { useSession } from '../session.js';
import { Badge, duration, ErrorBox, useNow } from '../ui.js';

const ended = (op: Operation | undefined) => op?.status === 'SUCCEEDED' || op?.status === 'FAILED';

/**
 * Follows an operation live with the long poll: each request passes the last version seen
 * (`since`) and is answered as soon as a step starts, changes or ends.
 */
function useLiveOperation(id: string, refresh: number) {
  const [op, setOp] = useState<Operation>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const stop = new AbortController();
    void (async () => {
      let version: number | undefined;
      let failures = 0;
      while (!stop.signal.aborted) {
        try {
          const next = await api<Operation>('GET', `/v1/operations/${id}`, {
            query: version === undefined ? {} : { waitSeconds: 20, since: version },
            signal: stop.signal,
          });
          failures = 0;
          setError(undefined);
          setOp(next);
          version = next.version;
          if (ended(next)) return;
        } catch (e) {
          if (stop.signal.aborted) return;
          setError(e);
          failures += 1;
          await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** failures)));
        }
      }
    })();
    return () => stop.abort();
  }, [id, refresh]);
  return { op, error };
}

const MARKS: Record<string, string> = {
  SUCCEEDED: '✔',
  FAILED: '✖',
  RUNNING: '',
  WAITING: '…',
  COMPENSATED: '↺',
};

export function OperationPage({ id }: { id: string }) {
  const session = useSession();
  const [refresh, setRefresh] = useState(0);
  const { op, error } = useLiveOperation(id, refresh);
  const [actionError, setActionError] = useState<unknown>();
  const now = useNow(!!op && !ended(op));
  if (!op) return error ? <ErrorBox error={error} /> : <p class="muted">loading…</p>;
  const act = async (path: string, body?: unknown) => {
    setActionError(undefined);
    try {
      await api('POST', path, { body, idempotent: true });
      setRefresh((r) => r + 1);
    } catch (e) {
      setActionError(e);
    }
  };
  const waitingOnMigration = op.waitingFor === 'migration' && !op.callback && !ended(op);
  return (
    <div>
      <div class="page-head">
        <h1>
          {op.type} <small>{op.operationId}</small>
        </h1>
        <Badge value={op.status} />
      </div>
      <p>
        Tenant <a href={`#/tenants/${op.tenantId}`}>{op.tenantId}</a> · by {op.actor} ·{' '}
        {duration(op.createdAt, op.endedAt, now)}
      </p>
      <ErrorBox error={error} />
      <ol class="steps" aria-live="polite" aria-label="Steps">
        {op.steps.map((s) => (
          <li key={s.name} class={`step step-${s.status.toLowerCase()}`}>
            <span class="mark" aria-hidden="true">
              {s.status === 'RUNNING' ? <span class="spinner" /> : MARKS[s.status]}
            </span>
            <span class="name">{s.name}</span>
            <Badge value={s.status} />
            <span class="time">{duration(s.startedAt, s.endedAt, now)}</span>
            {s.detail && !s.error ? <span class="detail">{s.detail}</span> : null}
            {s.error ? (
              <span class="detail error-text">
                <strong>{s.error.code}</strong> {s.error.message}
              </span>
            ) : null}
          </li>
        ))}
        {op.steps.length === 0 ? <li class="muted">no step has started yet</li> : null}
      </ol>
      {op.error ? (
        <div class="error" role="alert">
          <strong>{op.error.code}</strong>
          <span>{op.error.message}</span>
        </div>
      ) : null}
      {waitingOnMigration ? (
        <section class="card" aria-label="Migration hand-off">
          <h2>Waiting for the application plane</h2>
          <p>The data must be moved by the application plane, which answers with:</p>
          <pre>
            tenantctl migration complete {op.operationId}
            {'\n'}tenantctl migration fail {op.operationId}
          </pre>
          {session.may('POST', '/v1/operations/{operationId}/callback') ? (
            <div class="row">
              <button
                type="button"
                onClick={() => void act(`/v1/operations/${op.operationId}/callback`, { status: 'succeeded' })}
              >
                Mark migrated
              </button>
              <button
                type="button"
                class="danger"
                onClick={() =>
                  void act(`/v1/operations/${op.operationId}/callback`, {
                    status: 'failed',
                    reason: 'marked failed in the console',
                  })
                }
              >
                Mark failed
              </button>
            </div>
          ) : null}
        </section>
      ) : null}
      <div class="row">
        {op.status === 'FAILED' && session.may('POST', '/v1/operations/{operationId}/retry') ? (
          <button type="button" onClick={() => void act(`/v1/operations/${op.operationId}/retry`)}>
            Retry
          </button>
        ) : null}
        {!ended(op) && session.may('POST', '/v1/operations/{operationId}/cancel') ? (
          <button
            type="button"
            class="danger"
            onClick={() => void act(`/v1/operations/${op.operationId}/cancel`)}
          >
            Cancel
          </button>
        ) : null}
      </div>
      <ErrorBox error={actionError} />
    </div>
  );
}
