import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/client';
import { useFeed, useStartFeed, useStopFeed } from '../api/queries';
import { dayBounds, nyDateTime } from '../format';

const SPEEDS = [
  { value: 0, label: 'As fast as possible' },
  { value: 60, label: '60× (a minute a second)' },
  { value: 600, label: '600×' },
  { value: 3000, label: '3000×' },
];

/** Paper trading: replay the bars dataset to the running bots as if it were the market now. */
export function FeedPanel() {
  const feed = useFeed();
  const start = useStartFeed();
  const stop = useStopFeed();
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [speed, setSpeed] = useState(60);
  const status = feed.data;
  const running = status?.state === 'running';
  const failure = (start.error ?? stop.error) as ApiError | Error | null;

  function submit(event: FormEvent) {
    event.preventDefault();
    start.mutate({
      speed,
      start: from ? `${from}T00:00:00` : null,
      end: to ? dayBounds(to).end : null,
    });
  }

  return (
    <section className="card feed" aria-labelledby="feed-title">
      <h2 id="feed-title">Paper feed</h2>
      <form onSubmit={submit} className="row">
        <label>
          From day
          <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To day
          <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <label>
          Speed
          <select value={speed} onChange={(e) => setSpeed(Number(e.target.value))}>
            {SPEEDS.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={running || start.isPending}>
          Replay bars
        </button>
        <button type="button" disabled={!running || stop.isPending} onClick={() => stop.mutate()}>
          Stop feed
        </button>
      </form>
      {status && status.state !== 'idle' && (
        <p data-testid="feed-status">
          <span className={`badge feed-${status.state}`}>{status.state}</span> {status.bars_fed} of{' '}
          {status.bars_total} bars
          {status.current_bar_time && <> · at {nyDateTime(status.current_bar_time)} ET</>} ·{' '}
          {status.bots} bot{status.bots === 1 ? '' : 's'} trading
          {status.error && <span className="error"> · {status.error}</span>}
          <progress max={status.bars_total || 1} value={status.bars_fed} aria-label="Feed progress" />
        </p>
      )}
      {failure && (
        <p className="error" role="alert">
          {failure.message}
        </p>
      )}
    </section>
  );
}
