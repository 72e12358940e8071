// Owns the page's one LiveSocket and feeds its messages into the query cache.
import { useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { notePosition } from '../api/consistency';
import { setToken } from '../auth';
import { applyEvent, applyMessage, applySubscribed, Invalidator } from './cache';
import { LiveSocket, type LiveStatus } from './socket';

interface Live {
  status: LiveStatus;
  subscribe(topic: string): () => void;
}

const LiveContext = createContext<Live>({ status: 'offline', subscribe: () => () => undefined });

export function liveUrl(location: Location = window.location): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

export function LiveProvider({ token, children }: { token: string; children: ReactNode }) {
  const client = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const [socket, setSocket] = useState<LiveSocket | null>(null);

  useEffect(() => {
    const marks = new Invalidator(client);
    const live = new LiveSocket(liveUrl(), token, {
      onEvent: (event) => {
        notePosition(event.position);
        applyEvent(client, marks, event);
      },
      onMessage: (message) => applyMessage(client, marks, message),
      onSubscribed: (topics, position) => {
        notePosition(position);
        applySubscribed(marks, topics);
      },
      onStatus: setStatus,
      onAuthFailed: () => setToken(null),
    });
    const releases = [live.subscribe('bots'), live.subscribe('trades')];
    live.start();
    setSocket(live);
    return () => {
      releases.forEach((release) => release());
      live.stop();
      marks.stop();
    };
  }, [client, token]);

  const value = useMemo<Live>(
    () => ({ status, subscribe: (topic) => socket?.subscribe(topic) ?? (() => undefined) }),
    [status, socket],
  );
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export const useLiveStatus = () => useContext(LiveContext).status;

/** Keep `topic` subscribed while the calling component is mounted. */
export function useLiveTopic(topic: string | null): void {
  const { subscribe } = useContext(LiveContext);
  useEffect(() => (topic ? subscribe(topic) : undefined), [subscribe, topic]);
}
