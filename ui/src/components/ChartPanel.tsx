import { useQuery } from '@tanstack/react-query';
import { lazy, Suspense, useMemo, useState } from 'react';
import { barsQuery, keys, tradesQuery, useFeed } from '../api/queries';
import type { BotView } from '../api/types';
import { seriesData, tradeMarkers } from '../chart/data';
import { DEFAULT_LABELS, labelsFromConfigs } from '../chart/indicators';
import { dayBounds, nyDay } from '../format';
import type { LiveBar } from '../live/cache';
import { useLiveTopic } from '../live/LiveProvider';
import { ErrorBoundary } from './ErrorBoundary';

const PriceChart = lazy(() => import('../chart/PriceChart'));

const KINDS = ['SMA', 'EMA', 'BBANDS', 'RSI', 'MACD', 'STOCH', 'VOLUME_SMA', 'OBV'];
const NO_BARS: LiveBar[] = [];

/** A candlestick chart per symbol the bots trade, following the paper feed while it runs. */
export function ChartPanel({ bots }: { bots: BotView[] }) {
  const symbols = useMemo(
    () => [...new Set(bots.filter((b) => b.status !== 'archived').flatMap((b) => b.config.symbols))].sort(),
    [bots],
  );
  const [picked, setPicked] = useState<string | null>(null);
  const symbol = picked && symbols.includes(picked) ? picked : symbols[0];
  if (!symbol) return null;
  return (
    <section className="card charts" aria-labelledby="charts-title">
      <h2 id="charts-title">Charts</h2>
      <div role="tablist" aria-label="Symbol" className="tabs">
        {symbols.map((s) => (
          <button
            key={s}
            type="button"
            role="tab"
            id={`tab-${s}`}
            aria-selected={s === symbol}
            aria-controls="chart-panel"
            onClick={() => setPicked(s)}
          >
            {s}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="chart-panel" aria-labelledby={`tab-${symbol}`}>
        <SymbolChart symbol={symbol} bots={bots.filter((b) => b.config.symbols.includes(symbol))} key={symbol} />
      </div>
    </section>
  );
}

function SymbolChart({ symbol, bots }: { symbol: string; bots: BotView[] }) {
  const configured = useMemo(() => labelsFromConfigs(bots.map((b) => b.config)), [bots]);
  const [chosen, setChosen] = useState<string[] | null>(null);
  const kinds = chosen ?? [...Object.keys(configured), 'VOLUME'];
  const labels = KINDS.filter((k) => kinds.includes(k)).map((k) => configured[k] ?? DEFAULT_LABELS[k]);
  const [pickedDay, setPickedDay] = useState('');

  const feed = useFeed().data;
  const latest = useQuery(tradesQuery({ symbol, sort: '-timestamp' }, null, 1)).data?.items[0];
  const feedTime = feed?.state !== 'idle' ? feed?.current_bar_time : null;
  const following = !pickedDay && feed?.state === 'running' && !!feedTime;
  const day = pickedDay || (feedTime ? nyDay(feedTime) : latest ? nyDay(latest.timestamp) : null);
  const bounds = day ? dayBounds(day) : null;
  const end = following ? new Date(Date.parse(feedTime!) + 60_000).toISOString() : (bounds?.end ?? null);

  useLiveTopic(`bars:${symbol}`);
  const bars = useQuery(barsQuery(symbol, labels, bounds?.start ?? null, end));
  const live = useQuery({ queryKey: keys.liveBars(symbol), queryFn: () => NO_BARS, enabled: false, initialData: NO_BARS }).data;
  const fills = useQuery({
    ...tradesQuery({ symbol, start: bounds?.start, end: bounds?.end, sort: 'timestamp' }, null, 1000),
    enabled: !!bounds,
  }).data?.items;

  const data = useMemo(() => seriesData(bars.data, live, following ? null : end), [bars.data, live, following, end]);
  const markers = useMemo(() => tradeMarkers(fills ?? [], data.candles), [fills, data.candles]);

  const toggle = (kind: string) =>
    setChosen(kinds.includes(kind) ? kinds.filter((k) => k !== kind) : [...kinds, kind]);

  return (
    <>
      <div className="row chart-controls">
        <label>
          Day (New York)
          <input type="date" value={pickedDay || day || ''} onChange={(e) => setPickedDay(e.target.value)} />
        </label>
        {pickedDay && (
          <button type="button" className="link" onClick={() => setPickedDay('')}>
            Follow the feed
          </button>
        )}
        {following && <span className="badge ok">following the feed</span>}
        <fieldset className="chips">
          <legend>Indicators</legend>
          {[...KINDS, 'VOLUME'].map((kind) => (
            <label key={kind} className="chip">
              <input type="checkbox" checked={kinds.includes(kind)} onChange={() => toggle(kind)} />
              {kind === 'VOLUME' ? 'Volume' : (configured[kind] ?? DEFAULT_LABELS[kind])}
            </label>
          ))}
        </fieldset>
      </div>
      {bars.error && <p className="error">Bars unavailable: {bars.error.message}</p>}
      <ErrorBoundary what="The chart">
        <Suspense fallback={<div className="chart placeholder" />}>
          <PriceChart data={data} markers={markers} kinds={kinds} title={`${symbol} ${day ?? ''}`} fitKey={`${day}:${following}`} />
        </Suspense>
      </ErrorBoundary>
    </>
  );
}
