// Candles with indicator overlays and panes (lightweight-charts v5 panes) and fill markers.
import {
  CandlestickSeries,
  createChart,
  createSeriesMarkers,
  HistogramSeries,
  LineSeries,
  LineStyle,
  type IChartApi,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  type SeriesType,
  type Time,
} from 'lightweight-charts';
import { useEffect, useRef } from 'react';
import { DOWN, UP, type Marker, type SeriesData } from './data';
import { kindOf } from './indicators';

interface LineSpec {
  output: string;
  color: string;
  style?: LineStyle;
  histogram?: boolean;
}

/** Which outputs each kind draws, and how. */
const DRAW: Record<string, LineSpec[]> = {
  SMA: [{ output: 'sma', color: '#2563eb' }],
  EMA: [{ output: 'ema', color: '#9333ea' }],
  BBANDS: [
    { output: 'upper', color: '#64748b' },
    { output: 'middle', color: '#94a3b8', style: LineStyle.Dashed },
    { output: 'lower', color: '#64748b' },
  ],
  VOLUME_SMA: [{ output: 'volume_sma', color: '#d97706' }],
  RSI: [{ output: 'rsi', color: '#7c3aed' }],
  MACD: [
    { output: 'hist', color: '#94a3b8', histogram: true },
    { output: 'macd', color: '#2563eb' },
    { output: 'signal', color: '#ea580c' },
  ],
  STOCH: [
    { output: 'k', color: '#0891b2' },
    { output: 'd', color: '#ea580c' },
  ],
  OBV: [{ output: 'obv', color: '#0f766e' }],
};
const BANDS: Record<string, [number, number]> = { RSI: [30, 70], STOCH: [20, 80] };
const PANE_ORDER = ['VOLUME', 'RSI', 'MACD', 'STOCH', 'OBV'];
export const LEGEND_COLORS = DRAW;

interface Props {
  data: SeriesData;
  markers: Marker[];
  /** Kinds to draw: SMA, EMA, BBANDS, RSI, MACD, STOCH, OBV, VOLUME (VOLUME_SMA joins VOLUME). */
  kinds: string[];
  title: string;
  /** The view refits to all bars when this changes (another day, following the feed or not). */
  fitKey: string;
}

interface Built {
  chart: IChartApi;
  candles: ISeriesApi<'Candlestick'>;
  volume: ISeriesApi<'Histogram'> | null;
  lines: { kind: string; spec: LineSpec; series: ISeriesApi<SeriesType> }[];
  markers: ISeriesMarkersPluginApi<Time>;
}

export function PriceChart({ data, markers, kinds, title, fitKey }: Props) {
  const container = useRef<HTMLDivElement>(null);
  const built = useRef<Built | null>(null);
  const fitted = useRef<string | null>(null);
  const kindsKey = [...kinds].sort().join(',');
  const panes = PANE_ORDER.filter((kind) => kinds.includes(kind));

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const chart = createChart(element, {
      autoSize: true,
      layout: { background: { color: 'transparent' }, textColor: '#334155', fontSize: 11 },
      grid: { vertLines: { color: '#eef2f7' }, horzLines: { color: '#eef2f7' } },
      timeScale: { timeVisible: true, secondsVisible: false, rightOffset: 3 },
      rightPriceScale: { borderVisible: false },
    });
    const candles = chart.addSeries(CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      borderVisible: false,
      wickUpColor: UP,
      wickDownColor: DOWN,
    });
    const lines: Built['lines'] = [];
    const addLines = (kind: string, pane: number) => {
      for (const spec of DRAW[kind] ?? []) {
        const options = {
          color: spec.color,
          lineWidth: 1 as const,
          lineStyle: spec.style ?? LineStyle.Solid,
          priceLineVisible: false,
          lastValueVisible: false,
        };
        const series = spec.histogram
          ? chart.addSeries(HistogramSeries, { ...options, priceFormat: { type: 'price', precision: 4, minMove: 0.0001 } }, pane)
          : chart.addSeries(LineSeries, options, pane);
        lines.push({ kind, spec, series });
        const band = BANDS[kind];
        if (band && !spec.histogram && spec === DRAW[kind][0]) {
          for (const level of band) {
            series.createPriceLine({ price: level, color: '#cbd5e1', lineWidth: 1, lineStyle: LineStyle.Dotted, axisLabelVisible: false, title: '' });
          }
        }
      }
    };
    for (const kind of ['SMA', 'EMA', 'BBANDS']) if (kinds.includes(kind)) addLines(kind, 0);
    let volume: ISeriesApi<'Histogram'> | null = null;
    panes.forEach((kind, i) => {
      const pane = i + 1;
      if (kind === 'VOLUME') {
        volume = chart.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, priceLineVisible: false, lastValueVisible: false }, pane);
        if (kinds.includes('VOLUME_SMA')) addLines('VOLUME_SMA', pane);
      } else addLines(kind, pane);
    });
    chart.panes().forEach((pane, i) => pane.setStretchFactor(i === 0 ? 3 : 1));
    built.current = { chart, candles, volume, lines, markers: createSeriesMarkers(candles, []) };
    fitted.current = null;
    return () => {
      built.current = null;
      chart.remove();
    };
    // The chart is rebuilt only when the set of drawn kinds changes; data updates in place.
  }, [kindsKey]);

  useEffect(() => {
    const b = built.current;
    if (!b) return;
    b.candles.setData(data.candles as never);
    b.volume?.setData(data.volume as never);
    for (const { kind, spec, series } of b.lines) {
      const label = Object.keys(data.outputs).find((l) => kindOf(l) === kind);
      const points = (label && data.lines[`${label}.${spec.output}`]) || [];
      series.setData(
        (spec.histogram
          ? points.map((p) => ({ ...p, color: p.value >= 0 ? `${UP}88` : `${DOWN}88` }))
          : points) as never,
      );
    }
    b.markers.setMarkers(markers as never);
    const fit = `${fitKey}:${data.candles[0]?.time ?? ''}`;
    if (fit !== fitted.current) {
      fitted.current = fit;
      b.chart.timeScale().fitContent();
    }
  }, [data, markers, kindsKey, fitKey]);

  const last = data.candles[data.candles.length - 1];
  return (
    <div
      ref={container}
      className="chart"
      style={{ height: 260 + 90 * panes.length }}
      role="img"
      aria-label={`${title}: ${data.candles.length} one-minute bars${last ? `, last close ${last.close}` : ''}, ${markers.length} fills marked`}
      data-testid="price-chart"
    />
  );
}

export default PriceChart;
