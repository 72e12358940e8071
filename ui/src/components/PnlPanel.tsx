import { useQueries } from '@tanstack/react-query';
import { lazy, Suspense, useMemo } from 'react';
import { equityQuery, usePnl } from '../api/queries';
import type { BotView } from '../api/types';
import { money, percent, signedMoney, tone } from '../format';

const LineChart = lazy(() => import('../chart/LineChart'));

/** Realised P&L per bot and each bot's realised P&L curve (equity minus capital). */
export function PnlPanel({ bots }: { bots: BotView[] }) {
  const pnl = usePnl();
  const curves = useQueries({ queries: bots.map((b) => equityQuery(b.id)) });
  const series = useMemo(
    () =>
      bots
        .map((bot, i) => ({
          name: bot.name,
          points: (curves[i]?.data?.points ?? []).map((p) => ({
            at: p.at,
            value: Number(p.equity) - Number(bot.capital),
          })),
        }))
        .filter((s) => s.points.length > 0),
    // Recomputed when the bots or any curve changes (the query results are new objects then).
    [bots, ...curves.map((c) => c.data)],
  );
  return (
    <section className="card" aria-labelledby="pnl-title">
      <h2 id="pnl-title">P&L summary</h2>
      {pnl.error && <p className="error">{pnl.error.message}</p>}
      <div className="scroll">
        <table data-testid="pnl-summary">
          <thead>
            <tr>
              <th scope="col">Bot</th>
              <th scope="col" className="num">Equity</th>
              <th scope="col" className="num">Realised</th>
              <th scope="col" className="num">Round trips</th>
              <th scope="col" className="num">Win rate</th>
              <th scope="col" className="num">Avg win</th>
              <th scope="col" className="num">Avg loss</th>
              <th scope="col" className="num">Fees</th>
            </tr>
          </thead>
          <tbody>
            {pnl.data?.summary.map((s) => (
              <tr key={s.bot_id}>
                <td>{s.name ?? s.bot_id.slice(0, 8)}</td>
                <td className="num">{money(s.equity)}</td>
                <td className={`num ${tone(s.realized_pnl)}`}>{signedMoney(s.realized_pnl)}</td>
                <td className="num">{s.trades}</td>
                <td className="num">{percent(s.win_rate, 1)}</td>
                <td className="num">{money(s.average_win)}</td>
                <td className="num">{money(s.average_loss)}</td>
                <td className="num">{money(s.fees)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {series.length > 0 && (
        <Suspense fallback={<div className="chart placeholder" />}>
          <LineChart series={series} label="Realised P&L per bot over time" />
        </Suspense>
      )}
    </section>
  );
}
