import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : undefined;
  return (
    <div class="error" role="alert">
      <strong>{e ? e.code : 'Error'}</strong>
      <span>{(error as Error).message}</span>
      {e?.requestId ? <small>request {e.requestId}</small> : null}
    </div>
  );
}

export function Badge({ value }: { value: string | undefined }) {
  if (!value) return null;
  return <span class={`badge badge-${value.toLowerCase()}`}>{value}</span>;
}

export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
    <section class="table-wrap" aria-label={label} tabIndex={0}>
      <table>{children}</table>
    </section>
  );
}

/** A table's one row when it has none: `text`, once loading is over. */
export function EmptyRow({ shown, columns, text }: { shown: boolean; columns: number; text: string }) {
  if (!shown) return null;
  return (
    <tr>
      <td colSpan={columns} class="muted">
        {text}
      </td>
    </tr>
  );
}

/** Previous / Next under a paged table (cursor pages or numbered pages alike). */
export function Pager(props: {
  label: ComponentChildren;
  onPrevious?: (() => void) | undefined;
  onNext?: (() => void) | undefined;
}) {
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={!props.onPrevious} onClick={props.onPrevious}>
        Previous
      </button>
      <span>{props.label}</span>
      <button type="button" disabled={!props.onNext} onClick={props.onNext}>
        Next
      </button>
    </nav>
  );
}

export const seconds = (ms: number) => `${(Math.max(ms, 0) / 1000).toFixed(1)}s`;

export function duration(start: string, end: string | undefined, now: number): string {
  return seconds((end ? Date.parse(end) : now) - Date.parse(start));
}

/** Re-renders every `ms` while `active`, for running clocks. */
export function useNow(active: boolean, ms = 250): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [active, ms]);
  return now;
}

/** Loads `load()` whenever `deps` change; `reload` loads again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ value?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (value) => live && setState({ value, loading: false }),
      (error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function JsonView({ value }: { value: unknown }) {
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}
