// One query-options function per resource with a stable key, and the hooks built on them.
// Read-model queries send `after` (see consistency.ts) so they reflect what this page has seen.
import {
  keepPreviousData,
  queryOptions,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from '@tanstack/react-query';
import { api } from './client';
import { notePosition, seenPosition } from './consistency';
import type {
  BacktestAccepted,
  BacktestCreate,
  BacktestDetail,
  BacktestItem,
  BarsPage,
  BotConfigInput,
  BotState,
  BotView,
  CommandResponse,
  EquityCurve,
  FeedStatus,
  MarketStatus,
  PnlReport,
  Position,
  ReplayRequest,
  TimelinePage,
  TradePage,
  TradeView,
} from './types';

export interface TradeFilters {
  bot_id?: string;
  symbol?: string;
  side?: 'buy' | 'sell' | '';
  start?: string; // naive New York moment, e.g. 2024-10-31T00:00:00
  end?: string;
  sort?: string;
}

export const keys = {
  bots: () => ['bots'] as const,
  bot: (id: string) => ['bots', id] as const,
  botEvents: (id: string) => ['bot-events', id] as const,
  botState: (id: string, at: string | null) => ['bot-state', id, at] as const,
  equity: (id: string) => ['equity', id] as const,
  trades: (filters: TradeFilters, cursor: string | null, limit: number) =>
    ['trades', 'page', filters, cursor, limit] as const,
  allTrades: (filters: TradeFilters) => ['trades', 'all', filters] as const,
  pnl: () => ['pnl'] as const,
  positions: () => ['positions'] as const,
  market: () => ['market-status'] as const,
  bars: (symbol: string, indicators: readonly string[], start: string | null, end: string | null) =>
    ['bars', symbol, indicators, start, end] as const,
  liveBars: (symbol: string) => ['live-bars', symbol] as const,
  feed: () => ['feed'] as const,
  backtests: () => ['backtests'] as const,
  backtest: (id: string) => ['backtests', id] as const,
  activity: () => ['activity'] as const,
};

const read = <T,>(path: string, query: Record<string, unknown> = {}, signal?: AbortSignal) =>
  api<T>(path, { query: { ...query, after: seenPosition() } as never, signal });

export const botsQuery = () =>
  queryOptions({
    queryKey: keys.bots(),
    queryFn: ({ signal }) => read<BotView[]>('/api/bots', {}, signal),
  });

export const botQuery = (id: string) =>
  queryOptions({
    queryKey: keys.bot(id),
    queryFn: ({ signal }) => read<BotView>(`/api/bots/${id}`, {}, signal),
  });

export const marketQuery = () =>
  queryOptions({
    queryKey: keys.market(),
    queryFn: ({ signal }) => api<MarketStatus>('/api/market/status', { signal }),
    refetchInterval: 30_000,
  });

export const barsQuery = (
  symbol: string,
  indicators: readonly string[],
  start: string | null,
  end: string | null,
) =>
  queryOptions({
    queryKey: keys.bars(symbol, indicators, start, end),
    queryFn: ({ signal }) =>
      api<BarsPage>(`/api/market/bars/${encodeURIComponent(symbol)}`, {
        query: { indicator: indicators, start, end, limit: 1000 },
        signal,
      }),
    staleTime: 60_000,
    placeholderData: keepPreviousData,
  });

export const tradesQuery = (filters: TradeFilters, cursor: string | null = null, limit = 50) =>
  queryOptions({
    queryKey: keys.trades(filters, cursor, limit),
    queryFn: ({ signal }) =>
      read<TradePage>('/api/trades', { ...filters, cursor, limit }, signal),
    placeholderData: keepPreviousData,
  });

const ALL_TRADES_PAGES = 20;

/** Every fill matching the filters (up to 20 pages of 1000), for the P&L analysis. */
export const allTradesQuery = (filters: TradeFilters) =>
  queryOptions({
    queryKey: keys.allTrades(filters),
    queryFn: async ({ signal }) => {
      const items: TradeView[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < ALL_TRADES_PAGES; page++) {
        const query = { ...filters, sort: 'timestamp', cursor, limit: 1000 };
        const result: TradePage = await read<TradePage>('/api/trades', query, signal);
        items.push(...result.items);
        cursor = result.next_cursor;
        if (!cursor) return { items, complete: true };
      }
      return { items, complete: false };
    },
  });

export const pnlQuery = () =>
  queryOptions({
    queryKey: keys.pnl(),
    queryFn: ({ signal }) => read<PnlReport>('/api/pnl', {}, signal),
  });

export const positionsQuery = () =>
  queryOptions({
    queryKey: keys.positions(),
    queryFn: ({ signal }) => read<Position[]>('/api/positions', {}, signal),
  });

export const equityQuery = (id: string) =>
  queryOptions({
    queryKey: keys.equity(id),
    queryFn: ({ signal }) => read<EquityCurve>(`/api/bots/${id}/equity`, {}, signal),
  });

export const botStateQuery = (id: string, at: string | null) =>
  queryOptions({
    queryKey: keys.botState(id, at),
    queryFn: ({ signal }) => api<BotState>(`/api/bots/${id}/state`, { query: { at }, signal }),
    placeholderData: keepPreviousData,
  });

export const feedQuery = () =>
  queryOptions({
    queryKey: keys.feed(),
    queryFn: ({ signal }) => api<FeedStatus>('/api/market/replay', { signal }),
    // Another client may start a feed: look now and then, and every second while one runs.
    refetchInterval: (query) => (query.state.data?.state === 'running' ? 1000 : 10_000),
  });

export const backtestsQuery = () =>
  queryOptions({
    queryKey: keys.backtests(),
    queryFn: ({ signal }) =>
      api<{ items: BacktestItem[] }>('/api/backtests', { signal }).then((r) => r.items),
    // Progress arrives on the WebSocket; polling covers a run that ended before we subscribed.
    refetchInterval: (query) => (query.state.data?.some((r) => isActive(r.status)) ? 2000 : false),
  });

export const backtestQuery = (id: string) =>
  queryOptions({
    queryKey: keys.backtest(id),
    queryFn: ({ signal }) => api<BacktestDetail>(`/api/backtests/${id}`, { signal }),
    // The WebSocket pushes progress; polling is only the fallback while it runs.
    refetchInterval: (query) => (isActive(query.state.data?.status) ? 2000 : false),
  });

export const isActive = (status: string | undefined) => status === 'queued' || status === 'running';

export const useBots = () => useQuery(botsQuery());
export const useBot = (id: string) => useQuery(botQuery(id));
export const useMarketStatus = () => useQuery(marketQuery());
export const usePnl = () => useQuery(pnlQuery());
export const usePositions = () => useQuery(positionsQuery());
export const useEquity = (id: string) => useQuery(equityQuery(id));
export const useFeed = () => useQuery(feedQuery());
export const useBacktests = () => useQuery(backtestsQuery());

/** The bot's audit timeline, page after page (oldest first). */
export function useBotEvents(id: string) {
  return useInfiniteQuery({
    queryKey: keys.botEvents(id),
    queryFn: ({ pageParam, signal }) =>
      api<TimelinePage>(`/api/bots/${id}/events`, {
        query: { cursor: pageParam, limit: 1000 },
        signal,
      }),
    initialPageParam: 0,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export type BotCommand = 'start' | 'stop' | 'pause' | 'resume' | 'archive';

function useCommand<V>(run: (variables: V) => Promise<CommandResponse>) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSuccess: (result) => {
      notePosition(result.position);
      void client.invalidateQueries({ queryKey: keys.bots() });
    },
  });
}

export const useBotCommand = () =>
  useCommand(({ id, command }: { id: string; command: BotCommand }) =>
    command === 'archive'
      ? api<CommandResponse>(`/api/bots/${id}`, { method: 'DELETE' })
      : api<CommandResponse>(`/api/bots/${id}/${command}`, { method: 'POST' }),
  );

export const useSaveBot = () =>
  useCommand(({ id, config }: { id: string | null; config: BotConfigInput }) =>
    id
      ? api<CommandResponse>(`/api/bots/${id}`, { method: 'PUT', body: config })
      : api<CommandResponse>('/api/bots', { method: 'POST', body: config }),
  );

export function useStartFeed() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ReplayRequest) =>
      api<FeedStatus>('/api/market/replay', { method: 'POST', body }),
    onSuccess: (status) => client.setQueryData(keys.feed(), status),
  });
}

export function useStopFeed() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api<FeedStatus>('/api/market/replay', { method: 'DELETE' }),
    onSuccess: (status) => client.setQueryData(keys.feed(), status),
  });
}

export function useDeleteBacktest() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api<void>(`/api/backtests/${id}`, { method: 'DELETE' }),
    // Only the list is fetched again: the deleted run's detail is gone (asking would be a 404).
    onSuccess: (_, id) => {
      client.removeQueries({ queryKey: keys.backtest(id), exact: true });
      return client.invalidateQueries({ queryKey: keys.backtests(), exact: true });
    },
  });
}

export function useRunBacktest() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: BacktestCreate) =>
      api<BacktestAccepted>('/api/backtests', { method: 'POST', body }),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.backtests() }),
  });
}
