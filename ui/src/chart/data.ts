// Turns API bars, live bars and fills into lightweight-charts series data. Chart times are
// New York wall-clock seconds, so the axis reads as the market's clock.
import type { BarsPage, TradeView } from '../api/types';
import { nyOffsetSeconds } from '../format';
import type { LiveBar } from '../live/cache';

export interface Candle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
}
export interface Point {
  time: number;
  value: number;
  color?: string;
}
export interface Marker {
  time: number;
  position: 'aboveBar' | 'belowBar';
  shape: 'arrowUp' | 'arrowDown';
  color: string;
  text: string;
  id: string;
}

export interface SeriesData {
  candles: Candle[];
  volume: Point[];
  /** `LABEL.output` → points (warm-up nulls left out). */
  lines: Record<string, Point[]>;
  /** Each label asked for → its outputs, as the API named them. */
  outputs: Record<string, string[]>;
}

export const UP = '#15803d';
export const DOWN = '#b91c1c';

const offsets = new Map<number, number>();

/** UTC ISO moment → chart time (seconds, shifted to New York wall clock). */
export function chartTime(moment: string | number): number {
  const ms = typeof moment === 'number' ? moment : Date.parse(moment);
  const hour = Math.floor(ms / 3_600_000);
  let offset = offsets.get(hour);
  if (offset === undefined) {
    offset = nyOffsetSeconds(hour * 3_600_000);
    offsets.set(hour, offset);
  }
  return Math.floor(ms / 1000) + offset;
}

/** The fetched page, then live bars newer than its last bar (up to `until`, exclusive). */
export function seriesData(page: BarsPage | undefined, live: LiveBar[], until?: string | null): SeriesData {
  const data: SeriesData = { candles: [], volume: [], lines: {}, outputs: page?.indicators ?? {} };
  const limit = until ? Date.parse(until) : Infinity;
  let last = -Infinity;
  const add = (moment: string, o: string, h: string, l: string, c: string, v: number) => {
    const time = chartTime(moment);
    const open = Number(o);
    const close = Number(c);
    data.candles.push({ time, open, high: Number(h), low: Number(l), close });
    data.volume.push({ time, value: v, color: close >= open ? `${UP}66` : `${DOWN}66` });
    return time;
  };
  for (const bar of page?.bars ?? []) {
    const time = add(bar.timestamp, bar.open, bar.high, bar.low, bar.close, bar.volume);
    for (const [key, value] of Object.entries(bar.indicators)) {
      if (value === null || value === undefined) continue;
      (data.lines[key] ??= []).push({ time, value });
    }
    last = Date.parse(bar.timestamp);
  }
  for (const bar of live) {
    const ms = Date.parse(bar.time);
    if (ms <= last || ms >= limit) continue;
    if (page && page.bars.length && !sameDay(ms, last)) continue;
    add(bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume);
    last = ms;
  }
  return data;
}

function sameDay(a: number, b: number): boolean {
  return Math.abs(a - b) < 20 * 3_600_000;
}

/**
 * Buy and sell arrows at the bars the fills happened in (only bars on the chart); several fills
 * of one side on one bar (several bots) share an arrow: `B 86` for one, `B×3` for three.
 */
export function tradeMarkers(trades: TradeView[], candles: Candle[]): Marker[] {
  const times = new Set(candles.map((c) => c.time));
  const groups = new Map<string, { time: number; buy: boolean; fills: TradeView[] }>();
  for (const trade of trades) {
    const time = chartTime(Math.floor(Date.parse(trade.timestamp) / 60_000) * 60_000);
    if (!times.has(time)) continue;
    const buy = trade.type === 'buy';
    const key = `${time}:${buy}`;
    const group = groups.get(key) ?? { time, buy, fills: [] };
    group.fills.push(trade);
    groups.set(key, group);
  }
  return [...groups.values()]
    .map(({ time, buy, fills }): Marker => ({
      time,
      position: buy ? 'belowBar' : 'aboveBar',
      shape: buy ? 'arrowUp' : 'arrowDown',
      color: buy ? UP : DOWN,
      text: fills.length === 1 ? `${buy ? 'B' : 'S'} ${fills[0].quantity}` : `${buy ? 'B' : 'S'}×${fills.length}`,
      id: fills.map((f) => f.id).join(','),
    }))
    .sort((a, b) => a.time - b.time || a.id.localeCompare(b.id));
}
