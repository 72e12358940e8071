// Derived figures the API does not give directly: P&L analysis by bot or symbol over a set of
// fills, and the chain of events that explains a fill in an audit timeline.
import type { TimelineItem, TradeView } from './api/types';

export interface PnlRow {
  key: string;
  roundTrips: number;
  wins: number;
  losses: number;
  winRate: number | null;
  averageWin: number | null;
  averageLoss: number | null;
  netPnl: number;
  fees: number;
  fills: number;
}

const cents = (value: string | null | undefined) => (value ? Math.round(Number(value) * 100) : 0);

/** Realised P&L per group: each sell with a `profit_loss` closes a round trip. */
export function analyse(trades: TradeView[], by: 'bot_id' | 'symbol'): PnlRow[] {
  const groups = new Map<string, { win: number[]; loss: number[]; net: number; fees: number; fills: number }>();
  for (const trade of trades) {
    const key = trade[by];
    const group = groups.get(key) ?? { win: [], loss: [], net: 0, fees: 0, fills: 0 };
    group.fills += 1;
    group.fees += cents(trade.fee);
    if (trade.profit_loss !== null && trade.profit_loss !== undefined) {
      const pnl = cents(trade.profit_loss);
      group.net += pnl;
      (pnl > 0 ? group.win : group.loss).push(pnl);
    }
    groups.set(key, group);
  }
  const mean = (values: number[]) =>
    values.length ? values.reduce((a, b) => a + b, 0) / values.length / 100 : null;
  return [...groups.entries()]
    .map(([key, g]) => {
      const roundTrips = g.win.length + g.loss.length;
      return {
        key,
        roundTrips,
        wins: g.win.length,
        losses: g.loss.length,
        winRate: roundTrips ? g.win.length / roundTrips : null,
        averageWin: mean(g.win),
        averageLoss: mean(g.loss),
        netPnl: g.net / 100,
        fees: g.fees / 100,
        fills: g.fills,
      };
    })
    .sort((a, b) => a.key.localeCompare(b.key));
}

export function totals(rows: PnlRow[]): PnlRow {
  const roundTrips = rows.reduce((n, r) => n + r.roundTrips, 0);
  const wins = rows.reduce((n, r) => n + r.wins, 0);
  const losses = rows.reduce((n, r) => n + r.losses, 0);
  const weighted = (pick: (r: PnlRow) => number | null, count: (r: PnlRow) => number) => {
    const total = rows.reduce((n, r) => n + count(r), 0);
    return total ? rows.reduce((n, r) => n + (pick(r) ?? 0) * count(r), 0) / total : null;
  };
  return {
    key: 'all',
    roundTrips,
    wins,
    losses,
    winRate: roundTrips ? wins / roundTrips : null,
    averageWin: weighted((r) => r.averageWin, (r) => r.wins),
    averageLoss: weighted((r) => r.averageLoss, (r) => r.losses),
    netPnl: Math.round(rows.reduce((n, r) => n + r.netPnl, 0) * 100) / 100,
    fees: Math.round(rows.reduce((n, r) => n + r.fees, 0) * 100) / 100,
    fills: rows.reduce((n, r) => n + r.fills, 0),
  };
}

export interface FillExplanation {
  fill: TimelineItem;
  signal: TimelineItem | null;
  risk: TimelineItem | null;
  order: TimelineItem | null;
  checks: string[];
}

const FILL = /^(BUY|SELL) \d+ (\S+) @/;

/**
 * The events behind the fill at `index`: the order, risk check and signal for the same side and
 * symbol that precede it (every order is preceded by a signal and a risk check; see
 * docs/ARCHITECTURE.md).
 */
export function explainFill(items: TimelineItem[], index: number): FillExplanation | null {
  const fill = items[index];
  const match = fill && FILL.exec(fill.text);
  if (!match) return null;
  const [, side, symbol] = match;
  const same = (prefix: string) => (item: TimelineItem) =>
    item.text.startsWith(prefix) && new RegExp(`\\b${side} \\d+ ${escape(symbol)}\\b`).test(item.text);
  let order: TimelineItem | null = null;
  let risk: TimelineItem | null = null;
  let signal: TimelineItem | null = null;
  for (let i = index - 1; i >= 0 && !signal; i--) {
    const item = items[i];
    if (!order && item.type === 'OrderSubmitted' && same('submitted ')(item)) order = item;
    else if (order && !risk && item.type === 'RiskCheckPassed' && same('risk check passed')(item)) risk = item;
    else if (risk && item.type === 'SignalGenerated' && item.text.startsWith(`${side} signal ${symbol} `)) signal = item;
  }
  return { fill, signal, risk, order, checks: risk ? riskChecks(risk.text) : [] };
}

/** `risk check passed for BUY 88 AAPL @ 226.47: a; b; c` → `[a, b, c]`. */
export function riskChecks(text: string): string[] {
  const colon = text.indexOf(': ');
  return colon < 0 ? [] : text.slice(colon + 2).split('; ').map((s) => s.trim()).filter(Boolean);
}

/** `… on the 2024-10-31 10:03 ET bar: 1 of 2 vote buy …: MACD(12,26,9) line …` → the rule. */
export function signalRule(text: string): string {
  const marker = ' bar: ';
  const at = text.indexOf(marker);
  return at < 0 ? text : text.slice(at + marker.length);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
