import { useQuery } from '@tanstack/react-query';
import { keys } from '../api/queries';
import type { BotView } from '../api/types';
import { nyDateTime } from '../format';
import type { LiveEvent } from '../live/socket';

const NONE: LiveEvent[] = [];

/** Bot events as they arrive on the WebSocket, each with its explanation. */
export function Activity({ bots }: { bots: BotView[] }) {
  const events = useQuery({ queryKey: keys.activity(), queryFn: () => NONE, enabled: false, initialData: NONE }).data;
  const names = new Map(bots.map((b) => [b.id, b.name]));
  return (
    <section className="card" aria-labelledby="activity-title">
      <h2 id="activity-title">Live activity</h2>
      {events.length === 0 ? (
        <p className="muted">Events appear here as bots act.</p>
      ) : (
        <ol className="activity" data-testid="activity">
          {events.slice(0, 15).map((e) => (
            <li key={e.position}>
              <span className="muted">{nyDateTime(e.at)}</span> <strong>{names.get(e.bot_id) ?? e.bot_id.slice(0, 8)}</strong>{' '}
              <span className="tag">{e.event}</span> {e.text}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
