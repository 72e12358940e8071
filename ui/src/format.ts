// Formatting for people: money and moments (New York time, the market's clock).
export const NEW_YORK = 'America/New_York';

const moneyFormat = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});

const toNumber = (value: string | number | null | undefined): number | null => {
  if (value === null || value === undefined || value === '') return null;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : null;
};

/** `"1234.5"` → `$1,234.50`; null → `—`. */
export function money(value: string | number | null | undefined): string {
  const n = toNumber(value);
  return n === null ? '—' : moneyFormat.format(n);
}

/** P&L with its sign: `+$12.30`, `−$4.00`, `$0.00`. */
export function signedMoney(value: string | number | null | undefined): string {
  const n = toNumber(value);
  if (n === null) return '—';
  if (Math.abs(n) < 0.005) return moneyFormat.format(0);
  return (n > 0 ? '+' : '−') + moneyFormat.format(Math.abs(n));
}

/** A fraction as a percentage: `"0.3125"` → `31.25%`. */
export function percent(fraction: string | number | null | undefined, digits = 2): string {
  const n = toNumber(fraction);
  // toPrecision first: 0.3485 * 100 is 34.849999…, which would round down.
  return n === null ? '—' : `${Number((n * 100).toPrecision(12)).toFixed(digits)}%`;
}

/** CSS class for a signed amount. */
export function tone(value: string | number | null | undefined): 'pos' | 'neg' | '' {
  const n = toNumber(value);
  if (n === null || Math.abs(n) < 0.005) return '';
  return n > 0 ? 'pos' : 'neg';
}

const partsFormat = new Intl.DateTimeFormat('en-US', {
  timeZone: NEW_YORK,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

function nyParts(moment: string | number | Date): Record<string, string> {
  const date = moment instanceof Date ? moment : new Date(moment);
  const parts: Record<string, string> = {};
  for (const part of partsFormat.formatToParts(date)) parts[part.type] = part.value;
  return parts;
}

/** `2024-10-31T14:04:00Z` → `2024-10-31 10:04` (New York). */
export function nyDateTime(moment: string | number | Date | null | undefined): string {
  if (moment === null || moment === undefined) return '—';
  const p = nyParts(moment);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/** The New York calendar day of a moment, `YYYY-MM-DD`. */
export function nyDay(moment: string | number | Date): string {
  const p = nyParts(moment);
  return `${p.year}-${p.month}-${p.day}`;
}

/** `HH:MM` New York time. */
export function nyClock(moment: string | number | Date): string {
  const p = nyParts(moment);
  return `${p.hour}:${p.minute}`;
}

/** Seconds New York is ahead of UTC at `moment` (negative: -14400 in summer, -18000 in winter). */
export function nyOffsetSeconds(moment: number | Date): number {
  const date = moment instanceof Date ? moment : new Date(moment);
  const p = nyParts(date);
  const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return Math.round((wall - Math.floor(date.getTime() / 1000) * 1000) / 1000);
}

/** Naive New York bounds of a calendar day (the API reads naive moments as New York time). */
export function dayBounds(day: string): { start: string; end: string } {
  const [y, m, d] = day.split('-').map(Number);
  const next = new Date(Date.UTC(y, m - 1, d + 1));
  const nextDay = next.toISOString().slice(0, 10);
  return { start: `${day}T00:00:00`, end: `${nextDay}T00:00:00` };
}

/** `1h 05m`, `12m`, `45s`; for "opens in". */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  if (minutes > 0) return `${minutes}m`;
  return `${seconds % 60}s`;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}
