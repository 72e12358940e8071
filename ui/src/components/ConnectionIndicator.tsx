import { useLiveStatus } from '../live/LiveProvider';

const LABELS = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
} as const;

/** The WebSocket's state, announced politely to screen readers when it changes. */
export function ConnectionIndicator() {
  const status = useLiveStatus();
  return (
    <span className={`conn conn-${status}`} role="status" aria-live="polite" data-testid="connection">
      <span className="dot" aria-hidden="true" />
      {LABELS[status]}
    </span>
  );
}
