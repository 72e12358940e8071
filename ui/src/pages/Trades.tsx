import { useQuery } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
import { download } from '../api/client';
import { allTradesQuery, tradesQuery, useBots, type TradeFilters } from '../api/queries';
import { analyse, totals, type PnlRow } from '../analysis';
import { auditLink } from '../components/RecentTrades';
import { dayBounds, money, nyDateTime, percent, signedMoney, tone } from '../format';
import { Link } from '../router';

const PAGE = 50;
const COLUMNS: { key: string; label: string; numeric?: boolean }[] = [
  { key: 'timestamp', label: 'Time (ET)' },
  { key: 'bot_id', label: 'Bot' },
  { key: 'type', label: 'Side' },
  { key: 'symbol', label: 'Symbol' },
  { key: 'quantity', label: 'Qty', numeric: true },
  { key: 'price', label: 'Price', numeric: true },
  { key: 'fee', label: 'Fee', numeric: true },
  { key: 'profit_loss', label: 'P&L', numeric: true },
];

interface Draft {
  bot_id: string;
  symbol: string;
  side: '' | 'buy' | 'sell';
  from: string;
  to: string;
}
const EMPTY: Draft = { bot_id: '', symbol: '', side: '', from: '', to: '' };

function filtersOf(draft: Draft, sort: string): TradeFilters {
  return {
    bot_id: draft.bot_id || undefined,
    symbol: draft.symbol || undefined,
    side: draft.side || undefined,
    start: draft.from ? `${draft.from}T00:00:00` : undefined,
    end: draft.to ? dayBounds(draft.to).end : undefined,
    sort,
  };
}

/** Every fill: filter, sort, page by cursor, P&L analysis, CSV export. */
export default function Trades() {
  const bots = useBots().data ?? [];
  const names = new Map(bots.map((b) => [b.id, b.name]));
  const symbols = [...new Set(bots.flatMap((b) => b.config.symbols))].sort();
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [applied, setApplied] = useState<Draft>(EMPTY);
  const [sort, setSort] = useState('-timestamp');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [exporting, setExporting] = useState<string | null>(null);
  const filters = useMemo(() => filtersOf(applied, sort), [applied, sort]);
  const page = useQuery(tradesQuery(filters, cursors[cursors.length - 1], PAGE));
  const { sort: _ignored, ...analysisFilters } = filters;
  const all = useQuery(allTradesQuery(analysisFilters));

  function apply(event: FormEvent) {
    event.preventDefault();
    setApplied(draft);
    setCursors([null]);
  }

  function sortBy(key: string) {
    setSort(sort === key ? `-${key}` : key);
    setCursors([null]);
  }

  async function exportCsv() {
    setExporting('Preparing…');
    try {
      const { sort: order, ...rest } = filters;
      const bytes = await download('/api/trades.csv', { ...rest, sort: order }, 'trades.csv');
      setExporting(`Exported ${Math.ceil(bytes / 1024)} KB`);
    } catch (exc) {
      setExporting(`Export failed: ${(exc as Error).message}`);
    }
  }

  const nameOf = (id: string) => names.get(id) ?? id.slice(0, 8);
  return (
    <section>
      <h1>Trades</h1>
      <form className="card row filters" onSubmit={apply} aria-label="Filter trades">
        <label>
          Bot
          <select value={draft.bot_id} onChange={(e) => setDraft({ ...draft, bot_id: e.target.value })}>
            <option value="">All bots</option>
            {bots.map((b) => (
              <option key={b.id} value={b.id}>
                {b.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Symbol
          <select value={draft.symbol} onChange={(e) => setDraft({ ...draft, symbol: e.target.value })}>
            <option value="">All symbols</option>
            {symbols.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Side
          <select value={draft.side} onChange={(e) => setDraft({ ...draft, side: e.target.value as Draft['side'] })}>
            <option value="">Buys and sells</option>
            <option value="buy">Buys</option>
            <option value="sell">Sells</option>
          </select>
        </label>
        <label>
          From day
          <input type="date" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
        </label>
        <label>
          To day
          <input type="date" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        </label>
        <button type="submit">Apply filters</button>
        <button type="button" onClick={() => void exportCsv()}>
          Export CSV
        </button>
        {exporting && (
          <span role="status" className="muted" data-testid="export-status">
            {exporting}
          </span>
        )}
      </form>

      {page.error && <p className="error">{page.error.message}</p>}
      <div className="card scroll">
        <table data-testid="trades-table" aria-busy={page.isFetching}>
          <thead>
            <tr>
              {COLUMNS.map((c) => {
                const direction = sort === c.key ? 'ascending' : sort === `-${c.key}` ? 'descending' : undefined;
                return (
                  <th key={c.key} scope="col" aria-sort={direction} className={c.numeric ? 'num' : ''}>
                    <button type="button" className="sort" onClick={() => sortBy(c.key)}>
                      {c.label}
                      <span aria-hidden="true">{direction === 'ascending' ? ' ▲' : direction === 'descending' ? ' ▼' : ''}</span>
                    </button>
                  </th>
                );
              })}
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {page.data?.items.map((t) => (
              <tr key={t.id}>
                <td>{nyDateTime(t.timestamp)}</td>
                <td>{nameOf(t.bot_id)}</td>
                <td className={`side ${t.type}`}>{t.type}</td>
                <td>{t.symbol}</td>
                <td className="num">{t.quantity}</td>
                <td className="num">{money(t.price)}</td>
                <td className="num">{money(t.fee)}</td>
                <td className={`num ${tone(t.profit_loss)}`}>{t.profit_loss ? signedMoney(t.profit_loss) : ''}</td>
                <td>
                  <Link to={auditLink(t)}>Explain</Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {page.data?.items.length === 0 && <p className="muted">No trades match.</p>}
        <nav className="row pager" aria-label="Pages">
          <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous
          </button>
          <span data-testid="page-number">Page {cursors.length}</span>
          <button
            type="button"
            disabled={!page.data?.next_cursor || page.isPlaceholderData}
            onClick={() => setCursors([...cursors, page.data!.next_cursor!])}
          >
            Next
          </button>
        </nav>
      </div>

      <section className="card" aria-labelledby="analysis-title">
        <h2 id="analysis-title">P&L analysis</h2>
        {all.data && !all.data.complete && <p className="badge warn">Only the first 20,000 fills are analysed.</p>}
        {all.data && (
          <div className="two">
            <AnalysisTable by="Bot" rows={analyse(all.data.items, 'bot_id')} name={nameOf} />
            <AnalysisTable by="Symbol" rows={analyse(all.data.items, 'symbol')} name={(s) => s} />
          </div>
        )}
      </section>
    </section>
  );
}

function AnalysisTable({ by, rows, name }: { by: string; rows: PnlRow[]; name: (key: string) => string }) {
  const all = totals(rows);
  const line = (row: PnlRow, label: string) => (
    <tr key={row.key}>
      <th scope="row">{label}</th>
      <td className="num">{row.roundTrips}</td>
      <td className="num">{row.winRate === null ? '—' : percent(row.winRate, 1)}</td>
      <td className="num">{money(row.averageWin)}</td>
      <td className="num">{money(row.averageLoss)}</td>
      <td className={`num ${tone(row.netPnl)}`}>{signedMoney(row.netPnl)}</td>
      <td className="num">{money(row.fees)}</td>
    </tr>
  );
  return (
    <div className="scroll">
      <table data-testid={`analysis-${by.toLowerCase()}`}>
        <caption>By {by.toLowerCase()}</caption>
        <thead>
          <tr>
            <th scope="col">{by}</th>
            <th scope="col" className="num">Round trips</th>
            <th scope="col" className="num">Win rate</th>
            <th scope="col" className="num">Avg win</th>
            <th scope="col" className="num">Avg loss</th>
            <th scope="col" className="num">Net P&L</th>
            <th scope="col" className="num">Fees</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => line(row, name(row.key)))}
        </tbody>
        {rows.length > 1 && <tfoot>{line(all, 'All')}</tfoot>}
      </table>
    </div>
  );
}
