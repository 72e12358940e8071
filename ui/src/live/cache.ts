// What live messages do to the TanStack Query cache: stored events mark read models stale (a
// refetch with `after` then reflects them), broadcaster messages are written straight in.
import type { QueryClient, QueryKey } from '@tanstack/react-query';
import { keys } from '../api/queries';
import type { BacktestDetail, BacktestItem } from '../api/types';
import type { LiveEvent, LiveMessage } from './socket';

export interface LiveBar {
  time: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: number;
}

const ACTIVITY_LIMIT = 50;
const LIVE_BARS_LIMIT = 2000;

/**
 * Batches invalidations: a burst of events refetches each query once per `interval`, and a
 * query still fetching keeps its mark until that fetch ends, so the burst's end is never lost.
 */
export class Invalidator {
  private readonly pending = new Map<string, QueryKey>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly client: QueryClient,
    private readonly interval = 250,
  ) {}

  mark(key: QueryKey): void {
    this.pending.set(JSON.stringify(key), key);
    if (!this.timer) this.timer = setTimeout(() => this.flush(), this.interval);
  }

  flush(): void {
    this.timer = null;
    for (const [id, key] of this.pending) {
      if (this.client.isFetching({ queryKey: key }) > 0) continue;
      this.pending.delete(id);
      void this.client.invalidateQueries({ queryKey: key }, { cancelRefetch: false });
    }
    if (this.pending.size && !this.timer) {
      this.timer = setTimeout(() => this.flush(), this.interval);
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }
}

export function applyEvent(client: QueryClient, marks: Invalidator, event: LiveEvent): void {
  if (event.topic === 'trades') {
    marks.mark(['trades']);
    marks.mark(keys.pnl());
    marks.mark(['equity']);
    return;
  }
  client.setQueryData<LiveEvent[]>(keys.activity(), (previous = []) =>
    previous.some((e) => e.position === event.position)
      ? previous
      : [event, ...previous].slice(0, ACTIVITY_LIMIT),
  );
  marks.mark(keys.bots());
  marks.mark(keys.positions());
  marks.mark(keys.botEvents(event.bot_id));
}

/** After a (re)subscription, everything read before it may have missed events: refetch. */
export function applySubscribed(marks: Invalidator, topics: string[]): void {
  if (topics.includes('bots')) {
    marks.mark(keys.bots());
    marks.mark(keys.positions());
    marks.mark(['bot-events']);
  }
  if (topics.includes('trades')) {
    marks.mark(['trades']);
    marks.mark(keys.pnl());
    marks.mark(['equity']);
  }
  for (const topic of topics) {
    if (topic.startsWith('backtest:')) marks.mark(keys.backtest(topic.slice(9)));
  }
}

export function applyMessage(client: QueryClient, marks: Invalidator, message: LiveMessage): void {
  if (message.topic.startsWith('bars:')) {
    const bar = message.bar as (LiveBar & { symbol: string }) | undefined;
    if (bar) client.setQueryData<LiveBar[]>(keys.liveBars(bar.symbol), (bars = []) => addBar(bars, bar));
    // Bars flow only while a feed runs: make sure the feed's status says so.
    if (client.getQueryData<{ state?: string }>(keys.feed())?.state !== 'running') marks.mark(keys.feed());
    return;
  }
  if (message.topic.startsWith('backtest:')) {
    const id = message.topic.slice(9);
    const progress = {
      status: message.status as BacktestItem['status'],
      bars_done: Number(message.bars_done ?? 0),
      bars_total: Number(message.bars_total ?? 0),
      error: (message.error as string | undefined) ?? null,
    };
    client.setQueryData<BacktestDetail>(keys.backtest(id), (old) => old && { ...old, ...progress });
    client.setQueryData<BacktestItem[]>(keys.backtests(), (items) =>
      items?.map((item) => (item.id === id ? { ...item, ...progress } : item)),
    );
    if (progress.status === 'finished' || progress.status === 'failed') {
      marks.mark(keys.backtest(id));
      marks.mark(keys.backtests());
    }
  }
}

/** Bars in time order, one per minute (a repeated minute replaces the earlier one). */
export function addBar(bars: LiveBar[], bar: LiveBar): LiveBar[] {
  const clean: LiveBar = {
    time: bar.time,
    open: bar.open,
    high: bar.high,
    low: bar.low,
    close: bar.close,
    volume: bar.volume,
  };
  const last = bars[bars.length - 1];
  if (!last || Date.parse(last.time) < Date.parse(bar.time)) {
    return [...bars.slice(-(LIVE_BARS_LIMIT - 1)), clean];
  }
  if (last.time === bar.time) return [...bars.slice(0, -1), clean];
  // Out of order (a feed restarted earlier): start over from this bar.
  return [clean];
}
