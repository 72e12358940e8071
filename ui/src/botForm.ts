// The bot editor's form state (strings, as inputs hold them) and its conversion to and from the
// API's config. Validation is the API's: its field errors are shown beside the fields.
import type { BotConfigInput, StoredBotConfig } from './api/types';

export const INDICATOR_PARAMS: Record<string, { name: string; label: string; initial: string }[]> = {
  RSI: [
    { name: 'period', label: 'Period', initial: '14' },
    { name: 'oversold', label: 'Oversold below', initial: '30' },
    { name: 'overbought', label: 'Overbought above', initial: '70' },
  ],
  MACD: [
    { name: 'fast', label: 'Fast', initial: '12' },
    { name: 'slow', label: 'Slow', initial: '26' },
    { name: 'signal', label: 'Signal', initial: '9' },
  ],
  SMA: [{ name: 'period', label: 'Period', initial: '20' }],
  EMA: [{ name: 'period', label: 'Period', initial: '20' }],
  BBANDS: [
    { name: 'period', label: 'Period', initial: '20' },
    { name: 'std', label: 'Standard deviations', initial: '2' },
  ],
  STOCH: [
    { name: 'k', label: '%K', initial: '14' },
    { name: 'd', label: '%D', initial: '3' },
    { name: 'smooth', label: 'Smoothing', initial: '3' },
    { name: 'oversold', label: 'Oversold below', initial: '20' },
    { name: 'overbought', label: 'Overbought above', initial: '80' },
  ],
  VOLUME_SMA: [{ name: 'period', label: 'Period', initial: '20' }],
  OBV: [],
};

export const INDICATOR_NAMES: Record<string, string> = {
  RSI: 'RSI',
  MACD: 'MACD',
  SMA: 'Simple moving average',
  EMA: 'Exponential moving average',
  BBANDS: 'Bollinger bands',
  STOCH: 'Stochastic',
  VOLUME_SMA: 'Volume vs its average',
  OBV: 'On-balance volume',
};

const DECIMAL_PARAMS = new Set(['oversold', 'overbought', 'std']);

export interface IndicatorForm {
  on: boolean;
  params: Record<string, string>;
}

export interface BotForm {
  name: string;
  capital: string;
  frequencyMinutes: string;
  symbols: string[];
  indicators: Record<string, IndicatorForm>;
  minVotes: string;
  stopLoss: string;
  takeProfit: string;
  maxPositionSize: string;
  maxDailyLoss: string;
  maxPositions: string;
  start: string;
  end: string;
  flattenAtEnd: boolean;
  entryPriceBuffer: string;
}

export const SYMBOL = /^[A-Z][A-Z0-9.]{0,9}$/;

export function emptyForm(): BotForm {
  const indicators: Record<string, IndicatorForm> = {};
  for (const [kind, params] of Object.entries(INDICATOR_PARAMS)) {
    indicators[kind] = { on: false, params: Object.fromEntries(params.map((p) => [p.name, p.initial])) };
  }
  return {
    name: '',
    capital: '10000',
    frequencyMinutes: '1',
    symbols: [],
    indicators,
    minVotes: '',
    stopLoss: '0.02',
    takeProfit: '0.04',
    maxPositionSize: '0.1',
    maxDailyLoss: '0.03',
    maxPositions: '1',
    start: '09:30',
    end: '12:00',
    flattenAtEnd: true,
    entryPriceBuffer: '0.005',
  };
}

const pad = (n: number) => String(n).padStart(2, '0');

export function formFromConfig(config: StoredBotConfig): BotForm {
  const form = emptyForm();
  for (const [kind, params] of Object.entries(config.indicators)) {
    if (!form.indicators[kind]) continue;
    form.indicators[kind] = { on: true, params: { ...form.indicators[kind].params, ...params } };
  }
  const risk = config.risk_management;
  return {
    ...form,
    name: config.name,
    capital: config.capital,
    frequencyMinutes: String(config.trading_frequency / 60),
    symbols: [...config.symbols],
    minVotes: String(config.min_votes),
    stopLoss: risk.stop_loss ?? '',
    takeProfit: risk.take_profit ?? '',
    maxPositionSize: risk.max_position_size,
    maxDailyLoss: risk.max_daily_loss ?? '',
    maxPositions: String(risk.max_positions),
    start: `${pad(config.start_hour)}:${pad(config.start_minute)}`,
    end: `${pad(config.end_hour)}:${pad(config.end_minute)}`,
    flattenAtEnd: config.flatten_at_end,
    entryPriceBuffer: config.entry_price_buffer,
  };
}

/** An integer if the text is one, else the text itself (the API then names the field). */
const int = (text: string): number | string => (/^\s*-?\d+\s*$/.test(text) ? Number(text) : text.trim());
const optional = (text: string) => (text.trim() === '' ? null : text.trim());

function clock(text: string): [number | string, number | string] {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2])] : [text, text];
}

export function configFromForm(form: BotForm): BotConfigInput {
  const indicators: Record<string, Record<string, number | string>> = {};
  for (const [kind, indicator] of Object.entries(form.indicators)) {
    if (!indicator.on) continue;
    indicators[kind] = Object.fromEntries(
      Object.entries(indicator.params).map(([name, value]) => [
        name,
        DECIMAL_PARAMS.has(name) ? value.trim() : int(value),
      ]),
    );
  }
  const minutes = int(form.frequencyMinutes);
  const [startHour, startMinute] = clock(form.start);
  const [endHour, endMinute] = clock(form.end);
  return {
    name: form.name.trim(),
    capital: form.capital.trim(),
    trading_frequency: typeof minutes === 'number' ? minutes * 60 : minutes,
    symbols: form.symbols,
    indicators,
    risk_management: {
      stop_loss: optional(form.stopLoss),
      take_profit: optional(form.takeProfit),
      max_position_size: form.maxPositionSize.trim(),
      max_daily_loss: optional(form.maxDailyLoss),
      max_positions: int(form.maxPositions),
    },
    start_hour: startHour,
    start_minute: startMinute,
    end_hour: endHour,
    end_minute: endMinute,
    min_votes: form.minVotes.trim() === '' ? null : int(form.minVotes),
    flatten_at_end: form.flattenAtEnd,
    entry_price_buffer: form.entryPriceBuffer.trim(),
  } as unknown as BotConfigInput;
}

/** The form's fields and the API error keys each one shows (others go to the form's summary). */
export const FIELD_KEYS: Record<string, (key: string) => boolean> = {
  name: (k) => k === 'name',
  capital: (k) => k === 'capital',
  trading_frequency: (k) => k === 'trading_frequency',
  symbols: (k) => k === 'symbols' || k.startsWith('symbols.'),
  indicators: (k) => k === 'indicators',
  min_votes: (k) => k === 'min_votes',
  start: (k) => k === 'start_hour' || k === 'start_minute',
  end: (k) => k === 'end_hour' || k === 'end_minute',
  flatten_at_end: (k) => k === 'flatten_at_end',
  entry_price_buffer: (k) => k === 'entry_price_buffer',
};
for (const name of ['stop_loss', 'take_profit', 'max_position_size', 'max_daily_loss', 'max_positions']) {
  FIELD_KEYS[`risk_management.${name}`] = (k) => k === `risk_management.${name}`;
}
for (const [kind, params] of Object.entries(INDICATOR_PARAMS)) {
  FIELD_KEYS[`indicators.${kind}`] = (k) => k === `indicators.${kind}`;
  for (const p of params) FIELD_KEYS[`indicators.${kind}.${p.name}`] = (k) => k === `indicators.${kind}.${p.name}`;
}

/** Errors by form field, and those no field shows. */
export function placeErrors(errors: Record<string, string>): { byField: Record<string, string>; rest: string[] } {
  const byField: Record<string, string> = {};
  const rest: string[] = [];
  for (const [key, message] of Object.entries(errors)) {
    const field = Object.keys(FIELD_KEYS).find((f) => FIELD_KEYS[f](key));
    if (field) byField[field] = byField[field] ? `${byField[field]}; ${message}` : message;
    else rest.push(key ? `${key}: ${message}` : message);
  }
  return { byField, rest };
}
