import { useEffect, useState } from 'react';
import { useMarketStatus } from '../api/queries';
import { duration } from '../format';

/** NYSE open or closed now, today's holiday or early close, and the time to the next bell. */
export function MarketStatusBar() {
  const { data, error, dataUpdatedAt } = useMarketStatus();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);
  if (error) return <p className="error">Market status unavailable: {error.message}</p>;
  if (!data) return <p className="muted market">Market status…</p>;
  // Count on the server's clock: its `at`, plus the time elapsed here since it answered.
  const serverNow = Date.parse(data.at) + Math.max(0, now - dataUpdatedAt);
  const next = data.is_open ? data.next_close : data.next_open;
  return (
    <p className="market" data-testid="market-status">
      <span className={`badge ${data.is_open ? 'ok' : 'off'}`}>
        Market {data.is_open ? 'open' : 'closed'}
      </span>{' '}
      {data.is_open ? 'closes' : 'opens'} in {duration(Date.parse(next) - serverNow)} (
      {data.is_open ? data.next_close_local : data.next_open_local})
      {data.holiday && <span className="badge warn">Holiday: {data.holiday}</span>}
      {data.early_close && <span className="badge warn">Early close 13:00 ET</span>}
      <span className="muted"> · {data.at_local}</span>
    </p>
  );
}
