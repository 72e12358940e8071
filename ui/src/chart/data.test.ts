import { describe, expect, it } from 'vitest';
import type { BarsPage, TradeView } from '../api/types';
import { chartTime, seriesData, tradeMarkers } from './data';
import { labelsFromConfigs } from './indicators';

const page: BarsPage = {
  symbol: 'AAPL',
  indicators: { 'RSI(14)': ['rsi'] },
  next_start: null,
  bars: [
    { timestamp: '2024-10-31T13:30:00Z', open: '225.00', high: '225.27', low: '224.86', close: '225.13', volume: 409484, indicators: { 'RSI(14).rsi': null } },
    { timestamp: '2024-10-31T13:31:00Z', open: '225.13', high: '225.14', low: '224.87', close: '225.05', volume: 294986, indicators: { 'RSI(14).rsi': 48.5 } },
  ],
};

describe('chart data', () => {
  it('puts bars on the New York clock', () => {
    // 13:30 UTC on 31 Oct is 09:30 EDT: chart seconds read as 09:30 "UTC".
    expect(new Date(chartTime('2024-10-31T13:30:00Z') * 1000).toISOString()).toBe('2024-10-31T09:30:00.000Z');
  });

  it('leaves out warm-up values and appends newer live bars of the same day', () => {
    const live = [
      { time: '2024-10-31T13:31:00+00:00', open: '1', high: '1', low: '1', close: '1', volume: 1 },
      { time: '2024-10-31T13:32:00+00:00', open: '225.05', high: '225.3', low: '225', close: '225.2', volume: 1000 },
    ];
    const data = seriesData(page, live);
    expect(data.candles.map((c) => c.close)).toEqual([225.13, 225.05, 225.2]);
    expect(data.lines['RSI(14).rsi']).toEqual([{ time: chartTime('2024-10-31T13:31:00Z'), value: 48.5 }]);
    expect(data.volume[0].value).toBe(409484);
  });

  it('marks fills at their minute, only on bars shown', () => {
    const fill = (id: number, type: 'buy' | 'sell', timestamp: string) =>
      ({ id, type, timestamp, quantity: 5 }) as TradeView;
    const markers = tradeMarkers(
      [fill(2, 'sell', '2024-10-31T13:31:40Z'), fill(1, 'buy', '2024-10-31T13:30:00Z'), fill(3, 'buy', '2024-11-01T13:30:00Z')],
      seriesData(page, []).candles,
    );
    expect(markers.map((m) => [m.id, m.shape, m.text])).toEqual([
      ['1', 'arrowUp', 'B 5'],
      ['2', 'arrowDown', 'S 5'],
    ]);
  });

  it('gathers the fills of several bots on one bar and side into one arrow', () => {
    const fill = (id: number, type: 'buy' | 'sell') => ({ id, type, timestamp: '2024-10-31T13:30:10Z', quantity: 5 }) as TradeView;
    const markers = tradeMarkers([fill(1, 'buy'), fill(2, 'buy'), fill(3, 'buy'), fill(4, 'sell')], seriesData(page, []).candles);
    expect(markers.map((m) => m.text)).toEqual(['B×3', 'S 5']);
  });

  it('labels indicators from bot configs as the API names them', () => {
    const labels = labelsFromConfigs([
      { indicators: { MACD: { fast: '12', slow: '26', signal: '9' }, BBANDS: { period: '20', std: '2' }, OBV: {} } } as never,
      { indicators: { MACD: { fast: '5', slow: '35', signal: '5' } } } as never,
    ]);
    expect(labels).toEqual({ MACD: 'MACD(12,26,9)', BBANDS: 'BBANDS(20,2)', OBV: 'OBV' });
  });
});
