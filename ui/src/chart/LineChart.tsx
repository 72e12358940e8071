// Lines over time (equity curves, drawdown), one per named series, with an HTML legend.
import { createChart, LineSeries, type IChartApi } from 'lightweight-charts';
import { useEffect, useRef } from 'react';
import { chartTime } from './data';

export interface NamedSeries {
  name: string;
  points: { at: string; value: number }[];
}

export const PALETTE = ['#2563eb', '#ea580c', '#15803d', '#9333ea', '#b91c1c', '#0891b2', '#a16207'];

/** Points by time, one per chart second (a later point at the same time wins). */
export function toLine(points: { at: string; value: number }[]) {
  const byTime = new Map<number, number>();
  for (const p of points) byTime.set(chartTime(p.at), p.value);
  return [...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value }));
}

export function LineChart({ series, height = 220, label }: { series: NamedSeries[]; height?: number; label: string }) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);

  useEffect(() => {
    if (!container.current) return;
    chart.current = createChart(container.current, {
      autoSize: true,
      layout: { background: { color: 'transparent' }, textColor: '#334155', fontSize: 11 },
      grid: { vertLines: { color: '#eef2f7' }, horzLines: { color: '#eef2f7' } },
      timeScale: { timeVisible: true, secondsVisible: false },
      rightPriceScale: { borderVisible: false },
    });
    return () => {
      chart.current?.remove();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    const added = series.map((s, i) => {
      const line = c.addSeries(LineSeries, { color: PALETTE[i % PALETTE.length], lineWidth: 2, priceLineVisible: false });
      line.setData(toLine(s.points) as never);
      return line;
    });
    c.timeScale().fitContent();
    // The chart may already be gone (unmounting runs the effect that removes it first).
    return () => {
      if (chart.current === c) added.forEach((line) => c.removeSeries(line));
    };
  }, [series]);

  return (
    <figure className="linechart">
      <div ref={container} className="chart" style={{ height }} role="img" aria-label={label} />
      <figcaption>
        {series.map((s, i) => (
          <span key={s.name} className="legend">
            <span className="swatch" style={{ background: PALETTE[i % PALETTE.length] }} aria-hidden="true" />
            {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

export default LineChart;
