// One WebSocket to `/ws` (protocol: api/routes/ws.py): authenticate with the first message,
// subscribe to topics, and on reconnect resume each event topic after the last position served,
// so no stored event is missed or repeated.

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface LiveEvent {
  type: 'event';
  topic: string;
  position: number;
  bot_id: string;
  version: number;
  event: string;
  at: string;
  text: string;
  data: Record<string, unknown>;
}

export interface LiveMessage {
  type: 'message';
  topic: string;
  seq: number;
  [field: string]: unknown;
}

export interface LiveHandlers {
  onEvent?(event: LiveEvent): void;
  onMessage?(message: LiveMessage): void;
  /** The catch-up of `topics` is done: every later event has a position above `position`. */
  onSubscribed?(topics: string[], position: number): void;
  onStatus?(status: LiveStatus): void;
  /** The server refused the token (close 4401): the socket gives up. */
  onAuthFailed?(reason: string): void;
}

export interface LiveOptions {
  WebSocketImpl?: typeof WebSocket;
  /** Delays before reconnect attempts, in ms; the last one repeats. */
  backoff?: number[];
  /** Reconnect when nothing arrives for this long (the server pings every 15 s). */
  silenceMs?: number;
}

const AUTH_FAILED = 4401;
const FORBIDDEN = 4403;

/** Stored-event topics can be resumed by position; broadcaster topics are live only. */
export const isEventTopic = (topic: string) =>
  topic === 'bots' || topic === 'trades' || topic.startsWith('bot:');

export class LiveSocket {
  private socket: WebSocket | null = null;
  private readonly counts = new Map<string, number>();
  private readonly served = new Map<string, number>();
  private status: LiveStatus = 'offline';
  private attempt = 0;
  private stopped = true;
  private authenticated = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private silenceTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly WS: typeof WebSocket;
  private readonly backoff: number[];
  private readonly silenceMs: number;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly handlers: LiveHandlers,
    options: LiveOptions = {},
  ) {
    this.WS = options.WebSocketImpl ?? WebSocket;
    this.backoff = options.backoff ?? [250, 1000, 2000, 5000];
    this.silenceMs = options.silenceMs ?? 45_000;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'bye');
    this.setStatus('offline');
  }

  /** Keep `topic` subscribed while at least one caller wants it; returns the release. */
  subscribe(topic: string): () => void {
    const count = this.counts.get(topic) ?? 0;
    this.counts.set(topic, count + 1);
    if (count === 0 && this.authenticated) this.sendSubscribe([topic]);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(topic) ?? 1) - 1;
      if (left > 0) {
        this.counts.set(topic, left);
        return;
      }
      this.counts.delete(topic);
      this.served.delete(topic);
      if (this.authenticated) this.send({ type: 'unsubscribe', topics: [topic] });
    };
  }

  /** The position up to which `topic` has been served, if any. */
  position(topic: string): number | undefined {
    return this.served.get(topic);
  }

  getStatus(): LiveStatus {
    return this.status;
  }

  private connect(): void {
    this.authenticated = false;
    this.setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let socket: WebSocket;
    try {
      socket = new this.WS(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.send({ type: 'auth', token: this.token });
      this.armSilence();
    };
    socket.onmessage = (frame) => {
      if (socket !== this.socket) return;
      this.armSilence();
      this.receive(String(frame.data));
    };
    socket.onclose = (close) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.authenticated = false;
      this.clearTimers();
      if (close.code === AUTH_FAILED || close.code === FORBIDDEN) {
        this.stopped = true;
        this.setStatus('offline');
        this.handlers.onAuthFailed?.(close.reason || 'not authorised');
        return;
      }
      if (!this.stopped) this.scheduleReconnect();
    };
  }

  private receive(text: string): void {
    let message: { type?: string; [key: string]: unknown };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    switch (message.type) {
      case 'authenticated':
        this.authenticated = true;
        this.attempt = 0;
        this.setStatus('live');
        this.resubscribe();
        break;
      case 'event': {
        const event = message as unknown as LiveEvent;
        if (event.position > (this.served.get(event.topic) ?? -1)) {
          this.served.set(event.topic, event.position);
        }
        this.handlers.onEvent?.(event);
        break;
      }
      case 'message':
        this.handlers.onMessage?.(message as unknown as LiveMessage);
        break;
      case 'subscribed': {
        const topics = (message.topics as string[]) ?? [];
        const position = Number(message.position ?? 0);
        for (const topic of topics) {
          if (isEventTopic(topic) && position > (this.served.get(topic) ?? -1)) {
            this.served.set(topic, position);
          }
        }
        this.handlers.onSubscribed?.(topics, position);
        break;
      }
      case 'ping':
        break;
      default:
        break;
    }
  }

  private resubscribe(): void {
    const topics = [...this.counts.keys()];
    // Topics resumed from the same position share one message.
    const groups = new Map<number | null, string[]>();
    for (const topic of topics) {
      const after = isEventTopic(topic) ? (this.served.get(topic) ?? null) : null;
      groups.set(after, [...(groups.get(after) ?? []), topic]);
    }
    for (const [after, group] of groups) this.send({ type: 'subscribe', topics: group, after });
  }

  private sendSubscribe(topics: string[]): void {
    const after = isEventTopic(topics[0]) ? (this.served.get(topics[0]) ?? null) : null;
    this.send({ type: 'subscribe', topics, after });
  }

  private send(message: object): void {
    if (this.socket && this.socket.readyState === 1) this.socket.send(JSON.stringify(message));
  }

  private scheduleReconnect(): void {
    this.setStatus('reconnecting');
    const delay = this.backoff[Math.min(this.attempt, this.backoff.length - 1)];
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }

  private armSilence(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      // Nothing for too long (not even the server's ping): assume the connection is dead.
      const socket = this.socket;
      this.socket = null;
      socket?.close(4000, 'silent');
      if (!this.stopped) this.scheduleReconnect();
    }, this.silenceMs);
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.retryTimer = this.silenceTimer = null;
  }

  private setStatus(status: LiveStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.handlers.onStatus?.(status);
  }
}
