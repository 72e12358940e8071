import { useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { botStateQuery, tradesQuery, useBot, useBotEvents } from '../api/queries';
import type { TimelineItem } from '../api/types';
import { explainFill, signalRule } from '../analysis';
import { money, nyDateTime, signedMoney, tone } from '../format';
import { Link, useLocation } from '../router';

const GROUPS: Record<string, (type: string) => boolean> = {
  all: () => true,
  trading: (t) => t.startsWith('Signal') || t.startsWith('Risk') || t === 'OrderDenied' || t === 'ExitDeferred' || t.startsWith('OrderFilled') || t.startsWith('Position'),
  orders: (t) => t.startsWith('Order'),
  lifecycle: (t) => ['Created', 'ConfigChanged', 'Started', 'Paused', 'Resumed', 'Stopped', 'Errored', 'AlertRaised', 'UnexpectedFillReported', 'Reconciled', 'Archived', 'DailyLossLimitReached'].includes(t),
};
const SHOWN = 300;

/** A bot's audit timeline, the reasons behind each fill, and its state at any moment. */
export default function Audit({ id }: { id: string }) {
  const bot = useBot(id);
  const events = useBotEvents(id);
  const { search } = useLocation();
  const items = useMemo(() => events.data?.pages.flatMap((p) => p.items) ?? [], [events.data]);
  const [group, setGroup] = useState('all');
  const [selected, setSelected] = useState<number | null>(null);
  const [slider, setSlider] = useState<number | null>(null);
  const [limit, setLimit] = useState(SHOWN);

  // Load every page: the timeline is read whole (an explanation needs the events before it).
  useEffect(() => {
    if (events.hasNextPage && !events.isFetchingNextPage) void events.fetchNextPage();
  }, [events.hasNextPage, events.isFetchingNextPage, events]);

  // A link from a trade (`?fill=…&symbol=…&side=…`) opens that fill's explanation.
  const fill = search.get('fill');
  const wanted = fill && { at: Date.parse(fill), symbol: search.get('symbol') ?? '', side: (search.get('side') ?? '').toUpperCase() };
  useEffect(() => {
    if (!wanted || selected !== null || events.hasNextPage) return;
    const index = items.findIndex(
      (item) =>
        item.type.startsWith('OrderFilled') || item.type === 'OrderPartiallyFilled'
          ? Date.parse(item.at) === wanted.at && item.text.startsWith(`${wanted.side} `) && item.text.includes(` ${wanted.symbol} @`)
          : false,
    );
    if (index >= 0) {
      setSelected(index);
      setSlider(index);
      setGroup('all');
      setLimit(Math.max(SHOWN, items.length - index + 20));
    }
    // Only when the timeline grows or the wanted fill changes, not on every render.
  }, [items, events.hasNextPage, fill]);

  const position = slider ?? items.length - 1;
  const shownItems = items
    .map((item, index) => ({ item, index }))
    .filter(({ item }) => GROUPS[group](item.type))
    .reverse()
    .slice(0, limit);

  return (
    <section className="audit">
      <h1>
        Audit: {bot.data?.name ?? id.slice(0, 8)}{' '}
        {bot.data && <span className={`badge status-${bot.data.status}`}>{bot.data.status}</span>}
      </h1>
      <p>
        <Link to={`/bots/${id}/edit`}>Edit this bot</Link> · <Link to="/">Dashboard</Link>
      </p>
      {events.error && <p className="error">{events.error.message}</p>}
      {items.length > 0 && (
        <StateAt id={id} items={items} position={position} onChange={setSlider} />
      )}
      {selected !== null && items[selected] && (
        <FillExplanation id={id} items={items} index={selected} onClose={() => setSelected(null)} />
      )}
      <section className="card" aria-labelledby="timeline-title">
        <h2 id="timeline-title">
          Timeline <span className="muted">({items.length} events{events.hasNextPage ? ', loading…' : ''}, newest first)</span>
        </h2>
        <label>
          Show{' '}
          <select value={group} onChange={(e) => setGroup(e.target.value)}>
            <option value="all">every event</option>
            <option value="trading">signals, risk checks, fills, positions</option>
            <option value="orders">orders</option>
            <option value="lifecycle">lifecycle</option>
          </select>
        </label>
        <ol className="timeline" data-testid="timeline">
          {shownItems.map(({ item, index }) => (
            <TimelineEntry
              key={item.version}
              item={item}
              selected={index === selected}
              onExplain={() => {
                setSelected(index);
                setSlider(index);
              }}
            />
          ))}
        </ol>
        {shownItems.length === limit && (
          <button type="button" onClick={() => setLimit(limit + SHOWN)}>
            Show older events
          </button>
        )}
      </section>
    </section>
  );
}

function TimelineEntry({ item, selected, onExplain }: { item: TimelineItem; selected: boolean; onExplain: () => void }) {
  const ref = useRef<HTMLLIElement>(null);
  useEffect(() => {
    if (selected) ref.current?.scrollIntoView({ block: 'nearest' });
  }, [selected]);
  const isFill = item.type === 'OrderFilled' || item.type === 'OrderPartiallyFilled';
  return (
    <li ref={ref} className={`${selected ? 'selected ' : ''}t-${item.type}`} data-version={item.version}>
      <span className="muted">
        #{item.version} · {nyDateTime(item.at)}
      </span>{' '}
      <span className="tag">{item.type}</span> {item.text}
      {isFill && (
        <button type="button" className="link" onClick={onExplain} aria-pressed={selected}>
          Why?
        </button>
      )}
    </li>
  );
}

function FillExplanation({ id, items, index, onClose }: { id: string; items: TimelineItem[]; index: number; onClose: () => void }) {
  const chain = explainFill(items, index);
  const fill = items[index];
  const at = Date.parse(fill.at);
  const trade = useQuery(
    tradesQuery({ bot_id: id, start: new Date(at).toISOString(), end: new Date(at + 1000).toISOString(), sort: 'timestamp' }, null, 100),
  ).data?.items.find((t) => chain && fill.text.startsWith(`${t.type.toUpperCase()} ${t.quantity} ${t.symbol} `));
  const snapshot = trade?.indicators_snapshot;
  return (
    <section className="card explain" aria-labelledby="explain-title" data-testid="fill-explanation">
      <h2 id="explain-title">
        Why this fill{' '}
        <button type="button" className="link" onClick={onClose}>
          Close
        </button>
      </h2>
      <p>
        <strong>{fill.text}</strong> <span className="muted">({nyDateTime(fill.at)} ET)</span>
      </p>
      {trade?.profit_loss && (
        <p>
          Realised P&L <span className={tone(trade.profit_loss)}>{signedMoney(trade.profit_loss)}</span>, fee {money(trade.fee)}
        </p>
      )}
      <h3>Signal</h3>
      <p data-testid="explain-signal">{chain?.signal ? signalRule(chain.signal.text) : snapshot?.rule ?? 'not found in the timeline'}</p>
      {snapshot && (
        <>
          <h3>Indicator values on the signal's bar ({nyDateTime(snapshot.bar_time)} ET)</h3>
          <table className="kv" data-testid="explain-indicators">
            <tbody>
              {Object.entries(snapshot.indicators).map(([key, value]) => (
                <tr key={key}>
                  <th scope="row">{key}</th>
                  <td className="num">{Number(value).toLocaleString('en-US', { maximumFractionDigits: 4 })}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <h3>Risk checks</h3>
      {chain && chain.checks.length > 0 ? (
        <ul data-testid="explain-risk">
          {chain.checks.map((check) => (
            <li key={check}>{check}</li>
          ))}
        </ul>
      ) : (
        <p className="muted">No risk check found before this fill.</p>
      )}
      {chain?.order && (
        <>
          <h3>Order</h3>
          <p>{chain.order.text}</p>
        </>
      )}
    </section>
  );
}

function StateAt({ id, items, position, onChange }: { id: string; items: TimelineItem[]; position: number; onChange: (index: number) => void }) {
  const index = Math.min(position, items.length - 1);
  const item = items[index];
  // Events written by commands carry the wall clock, those of replayed bars the bar's time, so
  // the moment that includes every event up to this one is the latest time among them.
  const moments = useMemo(() => latestMoments(items), [items]);
  const moment = moments[index];
  // Ask for the state once the slider rests for a moment, not at every step.
  const [at, setAt] = useState(moment);
  useEffect(() => {
    const timer = setTimeout(() => setAt(moment), 150);
    return () => clearTimeout(timer);
  }, [moment]);
  const state = useQuery(botStateQuery(id, at));
  const s = state.data;
  return (
    <section className="card" aria-labelledby="state-title">
      <h2 id="state-title">State at a moment</h2>
      <label htmlFor="moment">
        Moment: event #{item.version}, {nyDateTime(moment)} ET
      </label>
      <input
        id="moment"
        type="range"
        min={0}
        max={items.length - 1}
        value={Math.min(position, items.length - 1)}
        onChange={(e) => onChange(Number(e.target.value))}
        aria-valuetext={`event ${item.version}, ${nyDateTime(item.at)}`}
      />
      {state.error && <p className="error">{state.error.message}</p>}
      {s && (
        <div data-testid="bot-state" aria-busy={state.isPlaceholderData} className={state.isPlaceholderData ? 'stale' : ''}>
          {state.isPlaceholderData && <p className="muted">Updating to the chosen moment…</p>}
          <dl className="figures">
            <div>
              <dt>Status</dt>
              <dd>{s.status}</dd>
            </div>
            <div>
              <dt>Cash</dt>
              <dd>{money(s.cash)}</dd>
            </div>
            <div>
              <dt>Reserved</dt>
              <dd>{money(s.reserved)}</dd>
            </div>
            <div>
              <dt>Realised P&L</dt>
              <dd className={tone(s.realized_pnl)}>{signedMoney(s.realized_pnl)}</dd>
            </div>
            <div>
              <dt>Round trips</dt>
              <dd>{s.trades}</dd>
            </div>
            <div>
              <dt>As of</dt>
              <dd>
                v{s.version} · {nyDateTime(s.as_of)}
              </dd>
            </div>
          </dl>
          <p>
            Positions:{' '}
            {s.positions.length === 0
              ? 'none'
              : s.positions.map((p) => `${p.qty} ${p.symbol} @ ${money(p.avg_price)}`).join(', ')}
            {' · '}Working orders:{' '}
            {s.working_orders.length === 0
              ? 'none'
              : s.working_orders.map((o) => `${o.side} ${o.qty} ${o.symbol} (${o.type})`).join(', ')}
          </p>
        </div>
      )}
    </section>
  );
}

/** For each event, the latest `at` among it and the events before it (ISO strings). */
export function latestMoments(items: TimelineItem[]): string[] {
  let latest = '';
  let latestMs = -Infinity;
  return items.map((item) => {
    const ms = Date.parse(item.at);
    if (ms > latestMs) {
      latestMs = ms;
      latest = item.at;
    }
    return latest;
  });
}
