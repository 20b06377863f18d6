import type { MeasurementView, MetricView, Threshold } from '../api/protocol';
import { formatAbsolute, formatClock, parseTime } from '../lib/format';

interface Point {
  t: number;
  v: number;
  m: MeasurementView;
}

function niceNumber(v: number): string {
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  if (Math.abs(v) >= 10) return String(Math.round(v * 10) / 10);
  return String(Math.round(v * 1000) / 1000);
}

/** A small SVG line chart of a metric's numeric measurements with threshold lines. */
export function MetricChart({ metric }: { metric: MetricView }) {
  const points: Point[] = [];
  metric.measurements.forEach((m, i) => {
    if (m.numericValue === null || !Number.isFinite(m.numericValue)) return;
    const t = parseTime(m.finishedAt) ?? parseTime(m.startedAt) ?? i;
    points.push({ t, v: m.numericValue, m });
  });
  if (points.length === 0) return null;
  const success: Threshold[] = metric.successThresholds;
  const failure: Threshold[] = metric.failureThresholds;
  const W = 560;
  const H = 180;
  const L = 48;
  const R = 12;
  const T = 12;
  const B = 26;
  const values = [...points.map((p) => p.v), ...success.map((t) => t.value), ...failure.map((t) => t.value)];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = hi - lo > 0 ? (hi - lo) * 0.15 : Math.abs(hi) * 0.1 || 1;
  // Start at 0 when the data is near it (counts, error rates); otherwise zoom in on the data.
  let min = lo >= 0 && lo - pad <= hi * 0.25 ? 0 : lo - pad;
  const max = hi + pad;
  if (max === min) min = max - 1;
  const t0 = points[0]?.t ?? 0;
  const t1 = points[points.length - 1]?.t ?? 1;
  const span = t1 - t0 || 1;
  const x = (t: number) => (points.length === 1 ? L + (W - L - R) / 2 : L + ((t - t0) / span) * (W - L - R));
  const y = (v: number) => T + (1 - (v - min) / (max - min)) * (H - T - B);
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  const ticks = [min, (min + max) / 2, max];
  const describe = `${metric.name}: ${points.length} measurements from ${niceNumber(Math.min(...points.map((p) => p.v)))} to ${niceNumber(Math.max(...points.map((p) => p.v)))}`;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={describe} class="chart-svg">
        {ticks.map((v) => (
          <g key={v}>
            <line class="chart-grid" x1={L} x2={W - R} y1={y(v)} y2={y(v)} />
            <text class="chart-label" x={L - 6} y={y(v) + 4} text-anchor="end">
              {niceNumber(v)}
            </text>
          </g>
        ))}
        {failure.map((th, i) => (
          <g key={`f${i}`}>
            <line class="chart-fail" x1={L} x2={W - R} y1={y(th.value)} y2={y(th.value)} />
            <text class="chart-th chart-th-fail" x={W - R - 2} y={y(th.value) - 4} text-anchor="end">
              fail {th.op} {niceNumber(th.value)}
            </text>
          </g>
        ))}
        {success.map((th, i) => (
          <g key={`s${i}`}>
            <line class="chart-ok" x1={L} x2={W - R} y1={y(th.value)} y2={y(th.value)} />
            <text class="chart-th chart-th-ok" x={L + 4} y={y(th.value) - 4}>
              success {th.op} {niceNumber(th.value)}
            </text>
          </g>
        ))}
        <path class="chart-line" d={path} fill="none" />
        {points.map((p, i) => (
          <circle key={i} class={`chart-dot dot-${(p.m.phase ?? 'Pending').toLowerCase()}`} cx={x(p.t)} cy={y(p.v)} r="4">
            <title>{`${p.m.value ?? p.v} · ${p.m.phase ?? ''} · ${formatAbsolute(p.t)}${p.m.message ? ` · ${p.m.message}` : ''}`}</title>
          </circle>
        ))}
        <text class="chart-label" x={L} y={H - 6}>
          {formatClock(t0)}
        </text>
        {points.length > 1 ? (
          <text class="chart-label" x={W - R} y={H - 6} text-anchor="end">
            {formatClock(t1)}
          </text>
        ) : null}
      </svg>
    </figure>
  );
}
