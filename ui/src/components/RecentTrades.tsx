import { useQuery } from '@tanstack/react-query';
import { tradesQuery } from '../api/queries';
import type { BotView, TradeView } from '../api/types';
import { money, nyDateTime, signedMoney, tone } from '../format';
import { Link } from '../router';

export function auditLink(trade: TradeView): string {
  const query = new URLSearchParams({ fill: trade.timestamp, symbol: trade.symbol, side: trade.type });
  return `/bots/${trade.bot_id}/audit?${query}`;
}

/** The fills stored last (the store's order, whatever their market time); each links to the audit entry that explains it. */
export function RecentTrades({ bots }: { bots: BotView[] }) {
  const { data, error } = useQuery(tradesQuery({ sort: '-id' }, null, 10));
  const names = new Map(bots.map((b) => [b.id, b.name]));
  return (
    <section className="card" aria-labelledby="recent-title">
      <h2 id="recent-title">
        Recent trades <Link to="/trades" className="small">all trades</Link>
      </h2>
      {error && <p className="error">{error.message}</p>}
      <div className="scroll">
        <table data-testid="recent-trades">
          <thead>
            <tr>
              <th scope="col">Time (ET)</th>
              <th scope="col">Bot</th>
              <th scope="col">Side</th>
              <th scope="col">Symbol</th>
              <th scope="col" className="num">Qty</th>
              <th scope="col" className="num">Price</th>
              <th scope="col" className="num">P&L</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {data?.items.map((t) => (
              <tr key={t.id} data-bot={t.bot_id}>
                <td>{nyDateTime(t.timestamp)}</td>
                <td>{names.get(t.bot_id) ?? t.bot_id.slice(0, 8)}</td>
                <td className={`side ${t.type}`}>{t.type}</td>
                <td>{t.symbol}</td>
                <td className="num">{t.quantity}</td>
                <td className="num">{money(t.price)}</td>
                <td className={`num ${tone(t.profit_loss)}`}>{t.profit_loss ? signedMoney(t.profit_loss) : ''}</td>
                <td>
                  <Link to={auditLink(t)}>Explain</Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {data && data.items.length === 0 && <p className="muted">No trades yet.</p>}
    </section>
  );
}
