// Indicator labels as the API names them (`RSI(14)`, `MACD(12,26,9)`), from bot configs.
import type { StoredBotConfig } from '../api/types';

export const CALCULATOR_PARAMS: Record<string, string[]> = {
  RSI: ['period'],
  MACD: ['fast', 'slow', 'signal'],
  SMA: ['period'],
  EMA: ['period'],
  BBANDS: ['period', 'std'],
  STOCH: ['k', 'd', 'smooth'],
  VOLUME_SMA: ['period'],
  OBV: [],
};

export const DEFAULT_LABELS: Record<string, string> = {
  SMA: 'SMA(20)',
  EMA: 'EMA(9)',
  BBANDS: 'BBANDS(20,2)',
  RSI: 'RSI(14)',
  MACD: 'MACD(12,26,9)',
  STOCH: 'STOCH(14,3,3)',
  VOLUME_SMA: 'VOLUME_SMA(20)',
  OBV: 'OBV',
};

/** On the price pane; the others get panes of their own. */
export const OVERLAYS = new Set(['SMA', 'EMA', 'BBANDS']);

export function label(kind: string, params: Record<string, string | number>): string {
  const names = CALCULATOR_PARAMS[kind] ?? [];
  return names.length ? `${kind}(${names.map((n) => params[n]).join(',')})` : kind;
}

export const kindOf = (text: string) => text.split('(')[0];

/** The labels the given bots use, one per kind (the first bot's wins), in a stable order. */
export function labelsFromConfigs(configs: StoredBotConfig[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const config of configs) {
    for (const [kind, params] of Object.entries(config.indicators)) {
      if (!(kind in result) && kind in CALCULATOR_PARAMS) result[kind] = label(kind, params);
    }
  }
  return result;
}
