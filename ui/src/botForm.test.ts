import { describe, expect, it } from 'vitest';
import type { StoredBotConfig } from './api/types';
import { configFromForm, emptyForm, formFromConfig, placeErrors } from './botForm';

const stored: StoredBotConfig = {
  name: 'rsi-macd', capital: '100000', trading_frequency: 120, symbols: ['AAPL', 'MSFT'],
  indicators: { RSI: { period: '14', oversold: '35', overbought: '65' }, MACD: { fast: '12', slow: '26', signal: '9' } },
  risk_management: { stop_loss: '0.01', take_profit: '0.02', max_position_size: '0.2', max_daily_loss: null, max_positions: 2 },
  start_hour: 9, start_minute: 35, end_hour: 12, end_minute: 0, min_votes: 1, flatten_at_end: true, entry_price_buffer: '0.005',
};

describe('bot form', () => {
  it('round-trips a stored config into the API input', () => {
    const config = configFromForm(formFromConfig(stored));
    expect(config).toEqual({
      name: 'rsi-macd', capital: '100000', trading_frequency: 120, symbols: ['AAPL', 'MSFT'],
      indicators: { RSI: { period: 14, oversold: '35', overbought: '65' }, MACD: { fast: 12, slow: 26, signal: 9 } },
      risk_management: { stop_loss: '0.01', take_profit: '0.02', max_position_size: '0.2', max_daily_loss: null, max_positions: 2 },
      start_hour: 9, start_minute: 35, end_hour: 12, end_minute: 0, min_votes: 1, flatten_at_end: true, entry_price_buffer: '0.005',
    });
  });

  it('leaves bad input for the API to name (a word where a number goes)', () => {
    const form = { ...emptyForm(), frequencyMinutes: 'often', minVotes: '', start: '' };
    const config = configFromForm(form) as unknown as Record<string, unknown>;
    expect(config.trading_frequency).toBe('often');
    expect(config.min_votes).toBeNull();
    expect(config.start_hour).toBe('');
  });

  it("puts the API's errors beside their fields, and the rest in the summary", () => {
    const { byField, rest } = placeErrors({
      name: 'bad pattern',
      'symbols.1': 'bad ticker',
      start_minute: 'too big',
      'indicators.RSI.period': 'too small',
      'risk_management.stop_loss': 'below 1',
      '': 'end must be after start',
      'something.else': 'odd',
    });
    expect(byField).toEqual({
      name: 'bad pattern',
      symbols: 'bad ticker',
      start: 'too big',
      'indicators.RSI.period': 'too small',
      'risk_management.stop_loss': 'below 1',
    });
    expect(rest).toEqual(['end must be after start', 'something.else: odd']);
  });
});
