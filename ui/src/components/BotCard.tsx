import { ApiError } from '../api/client';
import { useBotCommand, type BotCommand } from '../api/queries';
import type { BotView } from '../api/types';
import { money, nyDateTime, signedMoney, tone } from '../format';
import { Link } from '../router';

const ACTIONS: Record<string, { command: BotCommand; label: string }[]> = {
  created: [
    { command: 'start', label: 'Start' },
    { command: 'stop', label: 'Stop' },
    { command: 'archive', label: 'Archive' },
  ],
  running: [{ command: 'pause', label: 'Pause' }, { command: 'stop', label: 'Stop' }],
  paused: [{ command: 'resume', label: 'Resume' }, { command: 'stop', label: 'Stop' }],
  stopped: [
    { command: 'start', label: 'Start' },
    { command: 'archive', label: 'Archive' },
  ],
  errored: [{ command: 'stop', label: 'Stop' }],
  archived: [],
};

/** One bot: status, money, positions, last signal and its lifecycle buttons. */
export function BotCard({ bot }: { bot: BotView }) {
  const command = useBotCommand();
  const error = command.error instanceof ApiError ? command.error.message : command.error?.message;
  const signal = bot.last_signal;
  return (
    <article className="card bot" aria-labelledby={`bot-${bot.id}`} data-testid="bot-card">
      <header>
        <h3 id={`bot-${bot.id}`}>{bot.name}</h3>
        <span className={`badge status-${bot.status}`} data-testid="bot-status">
          {bot.status}
        </span>
      </header>
      <dl className="figures">
        <div>
          <dt>Capital</dt>
          <dd>{money(bot.capital)}</dd>
        </div>
        <div>
          <dt>Equity</dt>
          <dd>{money(bot.equity)}</dd>
        </div>
        <div>
          <dt>Today's P&L{bot.today ? ` (${bot.today})` : ''}</dt>
          <dd className={tone(bot.today_pnl)}>{signedMoney(bot.today_pnl)}</dd>
        </div>
        <div>
          <dt>Open positions</dt>
          <dd data-testid="open-positions">{bot.open_positions}</dd>
        </div>
        <div>
          <dt>Realised P&L</dt>
          <dd className={tone(bot.realized_pnl)}>{signedMoney(bot.realized_pnl)}</dd>
        </div>
        <div>
          <dt>Round trips</dt>
          <dd>{bot.trades}</dd>
        </div>
      </dl>
      <p className="signal">
        <span className="label">Last signal </span>
        {signal ? (
          <>
            <span className={`side ${signal.side}`}>{signal.side.toUpperCase()}</span> {signal.symbol} @{' '}
            {signal.price} · {nyDateTime(signal.bar_time)} ET
            <span className="rule">{signal.rule}</span>
          </>
        ) : (
          <span className="muted">none yet</span>
        )}
      </p>
      {bot.halted_on && <p className="badge warn">Halted on {bot.halted_on}: daily loss limit</p>}
      {bot.status_reason && (bot.status === "errored" || bot.status === "stopped") && (
        <p className={bot.status === "errored" ? "badge warn" : "muted"}>
          {bot.status === "errored" ? "Error" : "Stopped"}: {bot.status_reason}
        </p>
      )}
      <footer>
        {ACTIONS[bot.status]?.map((action) => (
          <button
            key={action.command}
            type="button"
            disabled={command.isPending}
            onClick={() => {
              // Archiving hides the bot for good (its history stays): ask first.
              if (action.command === 'archive' && !window.confirm(`Archive ${bot.name}?`)) return;
              command.mutate({ id: bot.id, command: action.command });
            }}
          >
            {action.label}
            <span className="sr-only"> {bot.name}</span>
          </button>
        ))}
        <Link to={`/bots/${bot.id}/edit`}>
          Edit<span className="sr-only"> {bot.name}</span>
        </Link>
        <Link to={`/bots/${bot.id}/audit`}>
          Audit<span className="sr-only"> {bot.name}</span>
        </Link>
      </footer>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </article>
  );
}
