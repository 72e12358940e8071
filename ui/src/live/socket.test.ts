import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveSocket, type LiveStatus } from './socket';

/** A WebSocket stand-in: records what the client sends; the test plays the server. */
class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((frame: { data: string }) => void) | null = null;
  onclose: ((close: { code: number; reason: string }) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(text: string) {
    this.sent.push(JSON.parse(text));
  }
  close() {
    this.readyState = 3;
  }
  // server side
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  push(message: object) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

const event = (topic: string, position: number) => ({
  type: 'event', topic, position, bot_id: 'b1', version: position, event: 'OrderFilled', at: '2024-10-31T14:04:00Z', text: 't', data: {},
});

describe('LiveSocket', () => {
  let statuses: LiveStatus[];
  let events: number[];
  let acks: [string[], number][];
  let authFailed: string[];
  let live: LiveSocket;

  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
    statuses = [];
    events = [];
    acks = [];
    authFailed = [];
    live = new LiveSocket(
      'ws://host/ws',
      'ob_token',
      {
        onStatus: (s) => statuses.push(s),
        onEvent: (e) => events.push(e.position),
        onSubscribed: (topics, position) => acks.push([topics, position]),
        onAuthFailed: (reason) => authFailed.push(reason),
      },
      { WebSocketImpl: FakeSocket as unknown as typeof WebSocket, backoff: [100, 200] },
    );
  });
  afterEach(() => {
    live.stop();
    vi.useRealTimers();
  });

  it('authenticates with the first message, then subscribes from the head', () => {
    live.subscribe('bots');
    live.start();
    const socket = FakeSocket.all[0];
    socket.open();
    expect(socket.sent).toEqual([{ type: 'auth', token: 'ob_token' }]);
    socket.push({ type: 'authenticated', position: 40 });
    expect(socket.sent[1]).toEqual({ type: 'subscribe', topics: ['bots'], after: null });
    expect(statuses).toEqual(['connecting', 'live']);
  });

  it('resumes every event topic after the last position served when it reconnects', () => {
    live.subscribe('bots');
    live.subscribe('trades');
    live.subscribe('bars:AAPL');
    live.start();
    const first = FakeSocket.all[0];
    first.open();
    first.push({ type: 'authenticated', position: 40 });
    first.push({ type: 'subscribed', topics: ['bots', 'trades', 'bars:AAPL'], position: 40 });
    first.push(event('bots', 41));
    first.push(event('bots', 45));
    first.push(event('trades', 43));
    first.drop();
    expect(statuses.at(-1)).toBe('reconnecting');

    vi.advanceTimersByTime(100);
    const second = FakeSocket.all[1];
    second.open();
    second.push({ type: 'authenticated', position: 50 });
    expect(second.sent.slice(1)).toEqual([
      { type: 'subscribe', topics: ['bots'], after: 45 },
      { type: 'subscribe', topics: ['trades'], after: 43 },
      { type: 'subscribe', topics: ['bars:AAPL'], after: null },
    ]);
    expect(events).toEqual([41, 45, 43]);
    expect(acks[0]).toEqual([['bots', 'trades', 'bars:AAPL'], 40]);
    expect(statuses.at(-1)).toBe('live');
  });

  it('an ack moves the resume point even when no event came', () => {
    live.subscribe('bots');
    live.start();
    FakeSocket.all[0].open();
    FakeSocket.all[0].push({ type: 'authenticated', position: 9 });
    FakeSocket.all[0].push({ type: 'subscribed', topics: ['bots'], position: 12 });
    expect(live.position('bots')).toBe(12);
  });

  it('backs off between failed attempts', () => {
    live.start();
    FakeSocket.all[0].drop();
    vi.advanceTimersByTime(99);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.all[1].drop();
    vi.advanceTimersByTime(199);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(3);
  });

  it('gives up and reports when the token is refused', () => {
    live.start();
    FakeSocket.all[0].open();
    FakeSocket.all[0].drop(4401, 'invalid token');
    vi.advanceTimersByTime(10_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(authFailed).toEqual(['invalid token']);
    expect(statuses.at(-1)).toBe('offline');
  });

  it('reconnects when the server goes silent', () => {
    live = new LiveSocket('ws://host/ws', 't', {}, { WebSocketImpl: FakeSocket as unknown as typeof WebSocket, backoff: [10], silenceMs: 1000 });
    live.start();
    FakeSocket.all[0].open();
    FakeSocket.all[0].push({ type: 'authenticated', position: 1 });
    vi.advanceTimersByTime(999);
    FakeSocket.all[0].push({ type: 'ping' });
    vi.advanceTimersByTime(999);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1 + 10);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('subscribes late topics at once and unsubscribes when the last user lets go', () => {
    live.start();
    const socket = FakeSocket.all[0];
    socket.open();
    socket.push({ type: 'authenticated', position: 1 });
    const release = live.subscribe('backtest:42');
    const again = live.subscribe('backtest:42');
    expect(socket.sent.filter((m) => m.type === 'subscribe')).toEqual([{ type: 'subscribe', topics: ['backtest:42'], after: null }]);
    release();
    expect(socket.sent.some((m) => m.type === 'unsubscribe')).toBe(false);
    again();
    expect(socket.sent.at(-1)).toEqual({ type: 'unsubscribe', topics: ['backtest:42'] });
  });
});
