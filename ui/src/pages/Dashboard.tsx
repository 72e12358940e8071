import { useEffect } from 'react';
import { useBots } from '../api/queries';
import { Activity } from '../components/Activity';
import { BotCard } from '../components/BotCard';
import { ChartPanel } from '../components/ChartPanel';
import { FeedPanel } from '../components/FeedPanel';
import { MarketStatusBar } from '../components/MarketStatusBar';
import { PnlPanel } from '../components/PnlPanel';
import { RecentTrades } from '../components/RecentTrades';
import { Link } from '../router';

/** Marks the first moment the bot cards are on screen (read by the end-to-end timing). */
export const BOTS_RENDERED = 'openbell:bots-rendered';

export function Dashboard() {
  const { data: bots, error, isPending } = useBots();
  useEffect(() => {
    if (bots && performance.getEntriesByName(BOTS_RENDERED).length === 0) {
      performance.mark(BOTS_RENDERED);
    }
  }, [bots]);
  const visible = bots?.filter((b) => b.status !== 'archived') ?? [];
  return (
    <>
      <h1 className="sr-only">Dashboard</h1>
      <MarketStatusBar />
      <section aria-labelledby="bots-title">
        <h2 id="bots-title">
          Bots <Link to="/bots/new" className="small">new bot</Link>
        </h2>
        {error && <p className="error">Bots unavailable: {error.message}</p>}
        {isPending && <p className="muted">Loading bots…</p>}
        {bots && visible.length === 0 && (
          <p className="muted">
            No bots yet. <Link to="/bots/new">Create one</Link>.
          </p>
        )}
        <div className="cards" data-testid="bot-cards">
          {visible.map((bot) => (
            <BotCard key={bot.id} bot={bot} />
          ))}
        </div>
      </section>
      <FeedPanel />
      {bots && <ChartPanel bots={visible} />}
      <div className="two">
        {bots && <RecentTrades bots={bots} />}
        {bots && <Activity bots={bots} />}
      </div>
      {bots && <PnlPanel bots={visible} />}
    </>
  );
}
