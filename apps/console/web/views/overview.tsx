import type { StatsWindow } from '@triggers/event-schema';
import { useState } from 'preact/hooks';
import { api, describeFailure } from '../api.ts';
import { ThroughputChart } from '../components/chart.tsx';
import { Notice } from '../components/notice.tsx';
import { ago } from '../components/time.tsx';
import { useFocusOnMount, useLoad, useNow } from '../hooks.ts';
import type { ViewProps } from './view.ts';

/** How often the overview reads `GET /stats` again. */
export const REFRESH_MS = 5_000;

const COUNTS = [
  ['received', 'Received'],
  ['delivered', 'Stored'],
  ['failed', 'Failed'],
  ['pending', 'Pending'],
] as const;

function Counts({ title, window }: { title: string; window: StatsWindow }) {
  return (
    <section class="card" aria-labelledby={`counts-${title}`}>
      <h2 id={`counts-${title}`}>{title}</h2>
      <dl class="counts">
        {COUNTS.map(([field, label]) => (
          <div key={field} class={`count count-${field}`}>
            <dt>{label}</dt>
            <dd>{window[field].toLocaleString()}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

const UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB'] as const;

/** `bytes` in the largest decimal unit it reaches: `139 KB`, `9 GB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(3))} ${UNITS[unit]}`;
}

/** The key's traffic at a glance: counts for the hour and day, a chart, the last stored event, its store's room. */
export function Overview({ apiKey }: ViewProps) {
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const [span, setSpan] = useState<'hour' | 'day'>('hour');
  const stats = useLoad((signal) => api(apiKey).stats.get({ signal }), [apiKey], REFRESH_MS);
  const now = useNow();
  const data = stats.data;

  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        Overview
      </h1>
      <p class="lede">
        Events this key sent, by where they stand now. Refreshes every {REFRESH_MS / 1000} s; events still on
        the queue are counted once the consumer has seen them.
      </p>
      {stats.error !== undefined && <Notice kind="error">{describeFailure(stats.error)}</Notice>}
      {data === undefined ? (
        stats.error === undefined && <p>Loading…</p>
      ) : (
        <>
          <p class="last-stored" data-testid="last-stored">
            Last stored event:{' '}
            <strong>
              {data.last_delivered_at === null ? 'none in the last day' : ago(data.last_delivered_at, now)}
            </strong>
          </p>
          <p class="store-room" data-testid="store-room">
            Event store: <strong>{formatBytes(data.store.size_bytes)}</strong> of{' '}
            {formatBytes(data.store.full_bytes)}, where new events are refused until retention makes room
          </p>
          <div class="cards">
            <Counts title="Last hour" window={data.last_hour} />
            <Counts title="Last day" window={data.last_day} />
          </div>
          <section class="card" aria-labelledby="throughput">
            <div class="card-head">
              <h2 id="throughput">Throughput</h2>
              <fieldset class="segmented">
                <legend class="visually-hidden">Chart span</legend>
                {(['hour', 'day'] as const).map((value) => (
                  <label key={value}>
                    <input
                      type="radio"
                      name="span"
                      value={value}
                      checked={span === value}
                      onChange={() => setSpan(value)}
                    />
                    <span>{value === 'hour' ? 'Per minute, last hour' : 'Per hour, last day'}</span>
                  </label>
                ))}
              </fieldset>
            </div>
            <ThroughputChart
              window={span === 'hour' ? data.last_hour : data.last_day}
              title={span === 'hour' ? 'Events per minute, last hour' : 'Events per hour, last day'}
            />
          </section>
        </>
      )}
    </>
  );
}
