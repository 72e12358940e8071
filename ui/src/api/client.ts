// The one door to the HTTP API: bearer token on every call, errors in the API's one shape.
import { getToken, setToken } from '../auth';
import type { ErrorDetail } from './types';

export type QueryValue = string | number | boolean | null | undefined | readonly string[];
export type Query = Record<string, QueryValue>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  token?: string | null;
}

/** An error answer: `code` and `message` from the API, `fields` parsed from its message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | null;
  readonly fields: Record<string, string>;

  constructor(status: number, detail: ErrorDetail) {
    super(detail.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = detail.code;
    this.field = detail.field ?? null;
    this.fields = fieldErrors(detail);
  }
}

/**
 * Field errors of a 422: the API names the first field in `field` and lists every problem in
 * `message` as "path: problem; path: problem". A problem without a field (the body as a whole)
 * is keyed "".
 */
export function fieldErrors(detail: ErrorDetail): Record<string, string> {
  const result: Record<string, string> = {};
  let last: string | null = null;
  for (const part of detail.message.split('; ')) {
    const match = /^([A-Za-z_][\w.]*): (.*)$/s.exec(part);
    if (match) {
      const key = match[1] === 'body' ? '' : match[1];
      result[key] = result[key] ? `${result[key]}; ${match[2]}` : match[2];
      last = key;
    } else if (last !== null) {
      result[last] += `; ${part}`;
    } else {
      result[detail.field ?? ''] = part;
      last = detail.field ?? '';
    }
  }
  if (detail.field && !(detail.field in result)) result[detail.field] = detail.message;
  return result;
}

export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, v));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

async function send(path: string, options: RequestOptions): Promise<Response> {
  const token = options.token === undefined ? getToken() : options.token;
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path + queryString(options.query), {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  if (response.ok) return response;
  const detail = await errorDetail(response);
  // A token the server no longer accepts ends the session (only if it is still the current one).
  if (response.status === 401 && token && token === getToken()) setToken(null);
  throw new ApiError(response.status, detail);
}

async function errorDetail(response: Response): Promise<ErrorDetail> {
  try {
    const body = await response.json();
    if (body && typeof body.error === 'object') return body.error as ErrorDetail;
  } catch {
    // not JSON: fall through
  }
  return { code: `http_${response.status}`, message: response.statusText || 'request failed', field: null };
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(path, options);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Fetch a file with the token and hand it to the browser as a download. */
export async function download(path: string, query: Query, filename: string): Promise<number> {
  const response = await send(path, { query });
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return blob.size;
}

/** Retry network failures and 503s (read models lagging); never other 4xx/5xx. */
export function shouldRetry(failures: number, error: unknown): boolean {
  if (failures >= 3) return false;
  if (error instanceof ApiError) return error.status === 503 || error.status === 429;
  return true;
}
