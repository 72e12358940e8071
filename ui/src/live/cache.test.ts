import { QueryClient, QueryObserver } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import { keys } from '../api/queries';
import { addBar, applyEvent, applyMessage, Invalidator, type LiveBar } from './cache';
import type { LiveEvent } from './socket';

const bar = (time: string, close = '1'): LiveBar => ({ time, open: '1', high: '1', low: '1', close, volume: 1 });

describe('addBar', () => {
  it('appends newer bars, replaces a repeated minute, restarts on older ones', () => {
    let bars = addBar([], bar('2024-10-31T13:30:00+00:00'));
    bars = addBar(bars, bar('2024-10-31T13:31:00+00:00'));
    bars = addBar(bars, bar('2024-10-31T13:31:00+00:00', '2'));
    expect(bars.map((b) => b.close)).toEqual(['1', '2']);
    expect(addBar(bars, bar('2024-10-31T13:00:00+00:00'))).toHaveLength(1);
  });
});

describe('live messages in the query cache', () => {
  it('writes backtest progress into the run and the list', () => {
    const client = new QueryClient();
    const marks = new Invalidator(client, 10);
    client.setQueryData(keys.backtest('r1'), { id: 'r1', status: 'queued', bars_done: 0, bars_total: 0 });
    client.setQueryData(keys.backtests(), [{ id: 'r1', status: 'queued', bars_done: 0 }]);
    applyMessage(client, marks, { type: 'message', topic: 'backtest:r1', seq: 3, status: 'running', bars_done: 500, bars_total: 2000 });
    expect(client.getQueryData(keys.backtest('r1'))).toMatchObject({ status: 'running', bars_done: 500, bars_total: 2000 });
    expect(client.getQueryData(keys.backtests())).toEqual([{ id: 'r1', status: 'running', bars_done: 500, bars_total: 2000, error: null }]);
    marks.stop();
  });

  it('keeps the live bars of each symbol', () => {
    const client = new QueryClient();
    const marks = new Invalidator(client, 10);
    const message = { type: 'message' as const, topic: 'bars:AAPL', seq: 1, bar: { ...bar('2024-10-31T13:30:00+00:00'), symbol: 'AAPL' } };
    applyMessage(client, marks, message);
    expect(client.getQueryData(keys.liveBars('AAPL'))).toEqual([bar('2024-10-31T13:30:00+00:00')]);
  });

  it('lists bot events once each and marks the read models stale in one batch', async () => {
    const client = new QueryClient();
    let fetches = 0;
    const observer = new QueryObserver(client, { queryKey: keys.bots(), queryFn: () => ++fetches, staleTime: Infinity });
    const unsubscribe = observer.subscribe(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(fetches).toBe(1);
    const marks = new Invalidator(client, 5);
    const event = (position: number): LiveEvent => ({
      type: 'event', topic: 'bots', position, bot_id: 'b1', version: position, event: 'Started', at: '', text: 'started', data: {},
    });
    applyEvent(client, marks, event(1));
    applyEvent(client, marks, event(2));
    applyEvent(client, marks, event(2));
    expect(client.getQueryData<LiveEvent[]>(keys.activity())?.map((e) => e.position)).toEqual([2, 1]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(fetches).toBe(2); // three events, one refetch
    unsubscribe();
    marks.stop();
  });
});
