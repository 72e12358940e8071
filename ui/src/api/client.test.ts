import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getToken, setToken } from '../auth';
import { api, ApiError, fieldErrors, queryString, shouldRetry } from './client';

function reply(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

describe('api', () => {
  const fetchMock = vi.fn();
  beforeEach(() => {
    vi.stubGlobal('fetch', fetchMock);
    setToken('ob_secret');
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    fetchMock.mockReset();
    setToken(null);
  });

  it('sends the bearer token and JSON body', async () => {
    fetchMock.mockResolvedValue(reply(201, { bot_id: 'b', position: 7 }));
    const result = await api('/api/bots', { method: 'POST', body: { name: 'x' }, query: { after: 3 } });
    expect(result).toEqual({ bot_id: 'b', position: 7 });
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe('/api/bots?after=3');
    expect(init.headers).toEqual({ Authorization: 'Bearer ob_secret', 'Content-Type': 'application/json' });
    expect(init.body).toBe('{"name":"x"}');
  });

  it("turns the API's error shape into an ApiError with its fields", async () => {
    fetchMock.mockResolvedValue(
      reply(422, {
        error: {
          code: 'validation_error',
          message: "name: String should match pattern '^[A-Za-z0-9]'; capital: Input should be greater than 0",
          field: 'name',
        },
      }),
    );
    const error = (await api('/api/bots', { method: 'POST', body: {} }).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(error.code).toBe('validation_error');
    expect(error.fields).toEqual({
      name: "String should match pattern '^[A-Za-z0-9]'",
      capital: 'Input should be greater than 0',
    });
  });

  it('signs out when the server refuses the current token', async () => {
    fetchMock.mockResolvedValue(reply(401, { error: { code: 'unauthenticated', message: 'revoked', field: null } }));
    await expect(api('/api/bots')).rejects.toBeInstanceOf(ApiError);
    expect(getToken()).toBeNull();
  });

  it('keeps going when an answer is not JSON', async () => {
    fetchMock.mockResolvedValue(new Response('oops', { status: 502, statusText: 'Bad Gateway' }));
    const error = (await api('/api/bots').catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe('http_502');
  });
});

describe('helpers', () => {
  it('repeats array parameters and leaves out empty ones', () => {
    expect(queryString({ indicator: ['RSI(14)', 'OBV'], start: null, side: '', limit: 5 })).toBe(
      '?indicator=RSI%2814%29&indicator=OBV&limit=5',
    );
    expect(queryString({})).toBe('');
  });

  it('reads form-level problems and run-on messages', () => {
    expect(fieldErrors({ code: 'v', message: 'body: end must be after start', field: null })).toEqual({
      '': 'end must be after start',
    });
    expect(fieldErrors({ code: 'c', message: 'bot is running', field: null })).toEqual({ '': 'bot is running' });
    expect(fieldErrors({ code: 'v', message: 'indicators.RSI: oversold must be below overbought', field: 'indicators.RSI' })).toEqual({
      'indicators.RSI': 'oversold must be below overbought',
    });
  });

  it('retries lagging read models and network failures, not refusals', () => {
    const error = (status: number) => new ApiError(status, { code: 'x', message: 'x', field: null });
    expect(shouldRetry(0, error(503))).toBe(true);
    expect(shouldRetry(0, new TypeError('network'))).toBe(true);
    expect(shouldRetry(0, error(404))).toBe(false);
    expect(shouldRetry(3, error(503))).toBe(false);
  });
});
