import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, renderHook, waitFor } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setToken } from '../auth';
import { shouldRetry } from './client';
import { notePosition, resetPositions } from './consistency';
import { useBotCommand, useBots, useRunBacktest } from './queries';

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

function wrapper(client: QueryClient) {
  return ({ children }: { children: ReactNode }) => <QueryClientProvider client={client}>{children}</QueryClientProvider>;
}

describe('data hooks', () => {
  const fetchMock = vi.fn();
  let client: QueryClient;
  beforeEach(() => {
    vi.stubGlobal('fetch', fetchMock);
    setToken('ob_t');
    resetPositions();
    client = new QueryClient({ defaultOptions: { queries: { retry: shouldRetry, retryDelay: 1 } } });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    fetchMock.mockReset();
    client.clear();
  });

  it('useBots reads the bots and asks for what this page has already seen', async () => {
    notePosition(41);
    fetchMock.mockResolvedValue(json([{ id: 'b1', name: 'one' }]));
    const { result } = renderHook(() => useBots(), { wrapper: wrapper(client) });
    await waitFor(() => expect(result.current.data).toEqual([{ id: 'b1', name: 'one' }]));
    expect(fetchMock.mock.calls[0][0]).toBe('/api/bots?after=41');
  });

  it('retries while the read models lag behind (503), then answers', async () => {
    fetchMock
      .mockResolvedValueOnce(json({ error: { code: 'read_model_lagging', message: 'lag', field: null } }, 503))
      .mockResolvedValueOnce(json([]));
    const { result } = renderHook(() => useBots(), { wrapper: wrapper(client) });
    await waitFor(() => expect(result.current.data).toEqual([]));
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it('does not retry a refusal', async () => {
    fetchMock.mockResolvedValue(json({ error: { code: 'not_found', message: 'no bot', field: null } }, 404));
    const { result } = renderHook(() => useBots(), { wrapper: wrapper(client) });
    await waitFor(() => expect(result.current.isError).toBe(true));
    expect(result.current.error?.message).toBe('no bot');
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it("a command's position makes the next bots read wait for it", async () => {
    fetchMock.mockResolvedValueOnce(json([{ id: 'b1', status: 'created' }]));
    const bots = renderHook(() => useBots(), { wrapper: wrapper(client) });
    await waitFor(() => expect(bots.result.current.data).toBeDefined());

    fetchMock.mockResolvedValueOnce(json({ bot_id: 'b1', position: 77 }));
    fetchMock.mockResolvedValueOnce(json([{ id: 'b1', status: 'running' }]));
    const command = renderHook(() => useBotCommand(), { wrapper: wrapper(client) });
    await act(() => command.result.current.mutateAsync({ id: 'b1', command: 'start' }));
    expect(fetchMock.mock.calls[1][0]).toBe('/api/bots/b1/start');
    expect(fetchMock.mock.calls[1][1].method).toBe('POST');
    await waitFor(() => expect(bots.result.current.data).toEqual([{ id: 'b1', status: 'running' }]));
    expect(fetchMock.mock.calls[2][0]).toBe('/api/bots?after=77');
  });

  it('useRunBacktest posts the request and refreshes the list of runs', async () => {
    const { result } = renderHook(() => useRunBacktest(), { wrapper: wrapper(client) });
    client.setQueryData(['backtests'], []);
    fetchMock.mockResolvedValueOnce(json({ id: 'r1', status: 'queued' }, 202));
    const accepted = await act(() => result.current.mutateAsync({ configs: [] } as never));
    expect(accepted).toEqual({ id: 'r1', status: 'queued' });
    expect(client.getQueryState(['backtests'])?.isInvalidated).toBe(true);
  });
});
