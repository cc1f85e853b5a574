import type { StatsWindow } from '@triggers/event-schema';

const SERIES = ['delivered', 'pending', 'failed'] as const;
const WIDTH = 600;
const HEIGHT = 120;

/** "14:05" for a minute bucket, "14:00" for an hour one, in local time. */
const label = (iso: string) =>
  new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

/**
 * Events received per bucket as stacked bars (delivered, pending, failed), drawn in SVG with no
 * inline style. The numbers are also in a table for screen readers and for copying.
 */
export function ThroughputChart({ window, title }: { window: StatsWindow; title: string }) {
  const max = Math.max(1, ...window.buckets.map((b) => b.received));
  const slot = WIDTH / window.buckets.length;
  const first = window.buckets[0];
  const last = window.buckets.at(-1);
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`${title}: ${window.received} events received, at most ${max} in one ${
          window.bucket_seconds === 60 ? 'minute' : 'hour'
        }.`}
        preserveAspectRatio="none"
      >
        <line class="chart-axis" x1="0" y1={HEIGHT - 0.5} x2={WIDTH} y2={HEIGHT - 0.5} />
        {window.buckets.map((bucket, i) => {
          let top = HEIGHT;
          return (
            <g key={bucket.start}>
              <title>{`${label(bucket.start)}: ${bucket.received} received, ${bucket.delivered} delivered, ${bucket.pending} pending, ${bucket.failed} failed`}</title>
              {SERIES.map((series) => {
                const height = (bucket[series] / max) * (HEIGHT - 4);
                top -= height;
                return height > 0 ? (
                  <rect
                    key={series}
                    class={`bar bar-${series}`}
                    x={i * slot + slot * 0.1}
                    y={top}
                    width={slot * 0.8}
                    height={height}
                  />
                ) : null;
              })}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <span>{first ? label(first.start) : ''}</span>
        <span class="legend">
          {SERIES.map((series) => (
            <span key={series} class="legend-item">
              <span aria-hidden="true" class={`swatch bar-${series}`} />
              {series}
            </span>
          ))}
        </span>
        <span>{last ? label(last.start) : ''}</span>
      </figcaption>
      <details class="chart-data">
        <summary>{title} as a table</summary>
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">From</th>
                <th scope="col">Received</th>
                <th scope="col">Delivered</th>
                <th scope="col">Pending</th>
                <th scope="col">Failed</th>
              </tr>
            </thead>
            <tbody>
              {window.buckets
                .filter((b) => b.received > 0)
                .map((b) => (
                  <tr key={b.start}>
                    <td>{label(b.start)}</td>
                    <td>{b.received}</td>
                    <td>{b.delivered}</td>
                    <td>{b.pending}</td>
                    <td>{b.failed}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
