import { describe, expect, it } from 'vitest';
import { analyse, explainFill, riskChecks, signalRule, totals } from './analysis';
import type { TimelineItem, TradeView } from './api/types';

const trade = (bot: string, symbol: string, type: 'buy' | 'sell', pnl: string | null, fee = '1.00'): TradeView => ({
  id: Math.random(), bot_id: bot, symbol, type, quantity: 10, price: '100', timestamp: '2024-10-31T14:00:00Z',
  indicators_snapshot: null, profit_loss: pnl, order_id: 'o', fee,
});

describe('P&L analysis', () => {
  const trades = [
    trade('a', 'AAPL', 'buy', null),
    trade('a', 'AAPL', 'sell', '10.10'),
    trade('a', 'MSFT', 'buy', null),
    trade('a', 'MSFT', 'sell', '-4.20'),
    trade('b', 'AAPL', 'buy', null),
    trade('b', 'AAPL', 'sell', '20.30'),
  ];

  it('counts round trips, wins and averages per bot', () => {
    const [a, b] = analyse(trades, 'bot_id');
    expect(a).toMatchObject({ key: 'a', roundTrips: 2, wins: 1, losses: 1, winRate: 0.5, averageWin: 10.1, averageLoss: -4.2, netPnl: 5.9, fees: 4, fills: 4 });
    expect(b).toMatchObject({ key: 'b', roundTrips: 1, wins: 1, losses: 0, winRate: 1, averageLoss: null, netPnl: 20.3 });
  });

  it('groups by symbol and totals exactly (in cents)', () => {
    const rows = analyse(trades, 'symbol');
    expect(rows.map((r) => [r.key, r.netPnl])).toEqual([['AAPL', 30.4], ['MSFT', -4.2]]);
    const all = totals(rows);
    expect(all).toMatchObject({ roundTrips: 3, wins: 2, losses: 1, netPnl: 26.2, fees: 6 });
    expect(all.averageWin).toBeCloseTo(15.2);
    expect(all.winRate).toBeCloseTo(2 / 3);
  });

  it('has no win rate without round trips', () => {
    expect(analyse([trade('a', 'AAPL', 'buy', null)], 'bot_id')[0].winRate).toBeNull();
  });
});

const item = (version: number, type: string, text: string): TimelineItem => ({ version, at: '2024-10-31T14:04:00Z', type, text });

describe('explaining a fill', () => {
  // As GET /api/bots/{id}/events gives them (the sample's rsi-macd).
  const items = [
    item(1, 'Created', "created 'rsi-macd'"),
    item(3, 'SignalGenerated', 'BUY signal AAPL @ 225.34 on the 2024-10-31 10:03 ET bar: 1 of 2 vote buy (need 1): MACD(12,26,9) line -0.0715 > signal -0.1361'),
    item(4, 'RiskCheckPassed', 'risk check passed for BUY 88 AAPL @ 226.47: max_positions 1 of 2; max_position_size 19930.36 <= 20000.0; max_daily_loss not reached'),
    item(5, 'OrderSubmitted', 'submitted BUY 88 AAPL limit @ 226.47 [entry] as ob-x-AAPL-202410311403-entry'),
    item(6, 'SignalGenerated', 'BUY signal MSFT @ 411.73 on the 2024-10-31 10:04 ET bar: 1 of 2 vote buy (need 1): MACD'),
    item(7, 'OrderAccepted', 'broker accepted ob-x-AAPL-202410311403-entry as sim-00000006'),
    item(8, 'OrderFilled', 'BUY 88 AAPL @ 225.34, fee 1.00 — 1 of 2 vote buy (need 1): MACD(12,26,9) line -0.0715 > signal -0.1361; size 19.8% of capital'),
  ];

  it('finds the signal, risk check and order behind it', () => {
    const explanation = explainFill(items, 6)!;
    expect(explanation.signal?.version).toBe(3);
    expect(explanation.risk?.version).toBe(4);
    expect(explanation.order?.version).toBe(5);
    expect(explanation.checks).toEqual(['max_positions 1 of 2', 'max_position_size 19930.36 <= 20000.0', 'max_daily_loss not reached']);
    expect(signalRule(explanation.signal!.text)).toBe('1 of 2 vote buy (need 1): MACD(12,26,9) line -0.0715 > signal -0.1361');
  });

  it('explains only fills', () => {
    expect(explainFill(items, 0)).toBeNull();
    expect(riskChecks('no colon here')).toEqual([]);
  });
});
