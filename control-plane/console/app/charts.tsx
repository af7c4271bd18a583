/**
 * Charts as inline SVG: no chart library, nothing from another origin. Each is an image to
 * assistive technology (role="img", an aria-label that reads the numbers, a <title>); the page
 * shows the same numbers in a table beside it, so nothing is only in the picture.
 */

import type { ComponentChildren } from 'preact';

export interface Datum {
  readonly label: string;
  readonly value: number;
}

const describe = (data: readonly Datum[], format: (n: number) => string) =>
  data.map((d) => `${d.label} ${format(d.value)}`).join(', ');

/** The figure every chart is drawn in: its numbers in words (aria-label, title), its caption. */
function ChartFrame(props: {
  title: string;
  text: string;
  width: number;
  height: number;
  children: ComponentChildren;
}) {
  const said = `${props.title}: ${props.text}`;
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${props.width} ${props.height}`}
        role="img"
        aria-label={said}
        preserveAspectRatio="xMinYMin meet"
      >
        <title>{said}</title>
        {props.children}
      </svg>
      <figcaption>{props.title}</figcaption>
    </figure>
  );
}

/** What every chart takes: its title, its data, and how a value reads. */
interface ChartProps {
  readonly title: string;
  readonly data: readonly Datum[];
  readonly format?: (n: number) => string;
}

/** One horizontal bar per datum, labelled with its name and value (cost per tier). */
export function BarChart({ title, data, format = String }: ChartProps) {
  // A narrow drawing scales up on a wide screen and stays legible on a phone (390 px).
  const row = 28;
  const width = 480;
  const labelWidth = 150;
  const valueWidth = 90;
  const span = width - labelWidth - valueWidth;
  const max = Math.max(0, ...data.map((d) => d.value)) || 1;
  const height = data.length * row + 4;
  return (
    <ChartFrame title={title} text={describe(data, format)} width={width} height={height}>
      {data.map((d, i) => {
        const y = i * row + 2;
        const w = d.value > 0 ? Math.max(2, (d.value / max) * span) : 0;
        return (
          <g class="chart-bar" key={d.label} data-label={d.label} data-value={d.value}>
            <text x={labelWidth - 8} y={y + row / 2 + 5} text-anchor="end">
              {d.label}
            </text>
            <rect x={labelWidth} y={y + 5} width={w} height={row - 10} rx="3" />
            <text x={labelWidth + w + 6} y={y + row / 2 + 5} class="chart-value">
              {format(d.value)}
            </text>
          </g>
        );
      })}
    </ChartFrame>
  );
}

/** One column per period, left to right (a tenant's cost over time); every label when they fit. */
export function ColumnChart({ title, data, format = String }: ChartProps) {
  const width = 480;
  const height = 200;
  const left = 8;
  const bottom = 30;
  const top = 20;
  const slot = (width - left * 2) / Math.max(1, data.length);
  const max = Math.max(0, ...data.map((d) => d.value)) || 1;
  // At most ~12 axis labels: a month of days would otherwise overlap.
  const every = Math.max(1, Math.ceil(data.length / 12));
  return (
    <ChartFrame title={title} text={describe(data, format)} width={width} height={height}>
      <line x1={left} x2={width - left} y1={height - bottom} y2={height - bottom} class="chart-axis" />
      {data.map((d, i) => {
        const h = d.value > 0 ? Math.max(2, (d.value / max) * (height - bottom - top)) : 0;
        const x = left + i * slot + slot * 0.15;
        return (
          <g class="chart-column" key={d.label} data-label={d.label} data-value={d.value}>
            <rect x={x} y={height - bottom - h} width={slot * 0.7} height={h} rx="2" />
            {i % every === 0 ? (
              <text x={x + slot * 0.35} y={height - bottom + 16} text-anchor="middle">
                {d.label}
              </text>
            ) : null}
          </g>
        );
      })}
      <text x={width - left} y={14} text-anchor="end" class="chart-value">
        max {format(max)}
      </text>
    </ChartFrame>
  );
}

export interface Segment {
  readonly name: string;
  readonly value: number;
  /** A CSS class: seg-done, seg-failed, seg-running, seg-remaining. */
  readonly kind: string;
}

/** A stacked bar of parts of a whole (a wave's done, failed, running and remaining tenants). */
export function ProgressBar({ label, segments }: { label: string; segments: readonly Segment[] }) {
  const total = segments.reduce((n, s) => n + s.value, 0);
  const text = `${label}: ${segments.map((s) => `${s.value} ${s.name}`).join(', ')}`;
  let x = 0;
  return (
    <svg class="progress" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label={text}>
      <title>{text}</title>
      <rect class="seg-track" x="0" y="0" width="100" height="8" rx="2" />
      {segments.map((s) => {
        const w = total > 0 ? (s.value / total) * 100 : 0;
        const rect = (
          <rect key={s.name} class={s.kind} x={x} y="0" width={w} height="8" data-value={s.value} />
        );
        x += w;
        return rect;
      })}
    </svg>
  );
}
