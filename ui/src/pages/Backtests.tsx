import { useQuery } from '@tanstack/react-query';
import { lazy, Suspense, useMemo, useState, type FormEvent } from 'react';
import { ApiError } from '../api/client';
import { backtestQuery, isActive, useBacktests, useBots, useDeleteBacktest, useRunBacktest } from '../api/queries';
import type { BacktestCreate, BacktestDetail } from '../api/types';
import { dayBounds, money, nyDateTime, signedMoney, tone } from '../format';
import { useLiveTopic } from '../live/LiveProvider';
import { navigate, useLocation } from '../router';

const LineChart = lazy(() => import('../chart/LineChart'));

function go(id: string | null, compare: string[]) {
  const query = new URLSearchParams();
  if (id) query.set('id', id);
  if (compare.length) query.set('compare', compare.join(','));
  navigate(`/backtests${query.size ? `?${query}` : ''}`, { replace: true });
}

/** Run bot configs over a bars dataset, watch progress, read results, compare two runs. */
export default function Backtests() {
  const { search } = useLocation();
  const selected = search.get('id');
  const compare = (search.get('compare') ?? '').split(',').filter(Boolean).slice(0, 2);
  const runs = useBacktests();
  const remove = useDeleteBacktest();

  const toggleCompare = (id: string) => {
    const next = compare.includes(id) ? compare.filter((c) => c !== id) : [...compare, id].slice(-2);
    go(selected, next);
  };

  return (
    <section>
      <h1>Backtests</h1>
      <RunForm onStarted={(id) => go(id, compare)} />
      <section className="card" aria-labelledby="runs-title">
        <h2 id="runs-title">Runs</h2>
        {runs.error && <p className="error">{runs.error.message}</p>}
        <div className="scroll">
          <table data-testid="backtest-runs">
            <thead>
              <tr>
                <th scope="col">Created (ET)</th>
                <th scope="col">Dataset</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {runs.data?.map((run) => (
                <tr key={run.id} className={run.id === selected ? 'selected' : ''}>
                  <td>{nyDateTime(run.created_at)}</td>
                  <td>{run.dataset}</td>
                  <td>
                    <span className={`badge bt-${run.status}`}>{run.status}</span>
                    {run.error && <span className="error"> {run.error}</span>}
                  </td>
                  <td>
                    <progress max={run.bars_total || 1} value={run.bars_done} aria-label={`Progress of run ${run.id.slice(0, 8)}`} />{' '}
                    {run.bars_done}/{run.bars_total}
                  </td>
                  <td>
                    <div className="row">
                    <button type="button" onClick={() => go(run.id, compare)} aria-pressed={run.id === selected}>
                      View<span className="sr-only"> run {run.id.slice(0, 8)}</span>
                    </button>
                    <label className="check">
                      <input
                        type="checkbox"
                        checked={compare.includes(run.id)}
                        onChange={() => toggleCompare(run.id)}
                        disabled={run.status !== 'finished'}
                      />
                      Compare<span className="sr-only"> run {run.id.slice(0, 8)}</span>
                    </label>
                    {(run.status === 'finished' || run.status === 'failed') && (
                      <button
                        type="button"
                        disabled={remove.isPending}
                        onClick={() => {
                          if (!window.confirm(`Delete backtest ${run.id.slice(0, 8)} and its store?`)) return;
                          remove.mutate(run.id, {
                            onSuccess: () =>
                              go(run.id === selected ? null : selected, compare.filter((c) => c !== run.id)),
                          });
                        }}
                      >
                        Delete<span className="sr-only"> run {run.id.slice(0, 8)}</span>
                      </button>
                    )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {runs.data?.length === 0 && <p className="muted">No backtests yet.</p>}
      </section>
      {compare.length === 2 ? (
        <section aria-labelledby="compare-title">
          <h2 id="compare-title">Side by side</h2>
          <div className="two" data-testid="compare">
            {compare.map((id) => (
              <BacktestView key={id} id={id} compact />
            ))}
          </div>
        </section>
      ) : (
        selected && <BacktestView key={selected} id={selected} />
      )}
    </section>
  );
}

function RunForm({ onStarted }: { onStarted: (id: string) => void }) {
  const bots = useBots().data ?? [];
  const run = useRunBacktest();
  const [chosen, setChosen] = useState<string[]>([]);
  const [json, setJson] = useState('');
  const [dataset, setDataset] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [commission, setCommission] = useState('');
  const [slippage, setSlippage] = useState('');
  const [problem, setProblem] = useState<string | null>(null);

  function submit(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    const configs: unknown[] = bots.filter((b) => chosen.includes(b.id)).map((b) => b.config);
    if (json.trim()) {
      try {
        const parsed = JSON.parse(json);
        configs.push(...(Array.isArray(parsed) ? parsed : [parsed]));
      } catch (exc) {
        setProblem(`The pasted config is not JSON: ${(exc as Error).message}`);
        return;
      }
    }
    if (configs.length === 0) {
      setProblem('Choose at least one bot config or paste one.');
      return;
    }
    const body = {
      configs,
      dataset: dataset.trim() || null,
      start: from ? `${from}T00:00:00` : null,
      end: to ? dayBounds(to).end : null,
      commission_per_share: commission.trim() || null,
      slippage_bps: slippage.trim() || null,
    } as unknown as BacktestCreate;
    run.mutate(body, { onSuccess: (accepted) => onStarted(accepted.id) });
  }

  const error = run.error instanceof ApiError ? `${run.error.message}${run.error.field ? ` (${run.error.field})` : ''}` : run.error?.message;
  return (
    <form className="card" onSubmit={submit} aria-labelledby="run-title">
      <h2 id="run-title">Run a backtest</h2>
      <fieldset>
        <legend>Configs</legend>
        <div className="chips">
          {bots.map((b) => (
            <label key={b.id} className="chip">
              <input
                type="checkbox"
                checked={chosen.includes(b.id)}
                onChange={() => setChosen(chosen.includes(b.id) ? chosen.filter((c) => c !== b.id) : [...chosen, b.id])}
              />
              {b.name}
            </label>
          ))}
        </div>
        <label htmlFor="bt-json">Or paste a config (JSON, one or a list)</label>
        <textarea id="bt-json" rows={3} value={json} onChange={(e) => setJson(e.target.value)} spellCheck={false} />
      </fieldset>
      <div className="row">
        <label>
          Dataset file
          <input value={dataset} onChange={(e) => setDataset(e.target.value)} placeholder="default" />
        </label>
        <label>
          From day
          <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To day
          <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <label>
          Commission per share
          <input inputMode="decimal" value={commission} onChange={(e) => setCommission(e.target.value)} placeholder="default" />
        </label>
        <label>
          Slippage (bps)
          <input inputMode="decimal" value={slippage} onChange={(e) => setSlippage(e.target.value)} placeholder="default" />
        </label>
        <button type="submit" className="primary" disabled={run.isPending}>
          Run backtest
        </button>
      </div>
      {(problem || error) && (
        <p className="error" role="alert">
          {problem ?? error}
        </p>
      )}
    </form>
  );
}

function BacktestView({ id, compact = false }: { id: string; compact?: boolean }) {
  const { data, error } = useQuery(backtestQuery(id));
  useLiveTopic(isActive(data?.status) || !data ? `backtest:${id}` : null);
  const equity = useMemo(() => curves(data, 'equity'), [data]);
  const drawdown = useMemo(() => curves(data, 'drawdown'), [data]);
  if (error) return <p className="error">{error.message}</p>;
  if (!data) return <p className="muted">Loading run…</p>;
  const bots = data.summary?.bots ?? [];
  return (
    <section className="card" aria-label={`Backtest ${id.slice(0, 8)}`} data-testid="backtest-view">
      <h2>
        Run {id.slice(0, 8)} <span className={`badge bt-${data.status}`} data-testid="backtest-status">{data.status}</span>
      </h2>
      {isActive(data.status) && (
        <p>
          <progress max={data.bars_total || 1} value={data.bars_done} aria-label="Backtest progress" /> {data.bars_done} of{' '}
          {data.bars_total} bars
        </p>
      )}
      {data.error && <p className="error">{data.error}</p>}
      {data.summary && (
        <p className="muted">
          {data.summary.bars} bars in {data.summary.seconds.toFixed(2)} s · dataset {data.dataset} ·{' '}
          {data.summary.dataset_id.slice(0, 12)}
        </p>
      )}
      {bots.length > 0 && (
        <div className="scroll">
          <table data-testid="backtest-summary">
            <thead>
              <tr>
                <th scope="col">Bot</th>
                <th scope="col" className="num">Round trips</th>
                <th scope="col" className="num">Realised</th>
                <th scope="col" className="num">Fees</th>
                <th scope="col" className="num">Final equity</th>
                <th scope="col" className="num">Return</th>
                <th scope="col" className="num">Max drawdown</th>
              </tr>
            </thead>
            <tbody>
              {bots.map((b) => (
                <tr key={b.id}>
                  <th scope="row">{b.name}</th>
                  <td className="num">{b.trades}</td>
                  <td className={`num ${tone(b.realized_pnl)}`}>{signedMoney(b.realized_pnl)}</td>
                  <td className="num">{money(b.fees)}</td>
                  <td className="num">{money(b.final_equity)}</td>
                  <td className={`num ${tone(b.return_pct)}`}>{b.return_pct}%</td>
                  <td className="num">
                    {money(b.max_drawdown)} ({b.max_drawdown_pct}%)
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {equity.length > 0 && (
        <Suspense fallback={<div className="chart placeholder" />}>
          <h3>Equity (realised)</h3>
          <LineChart series={equity} label={`Equity curves of run ${id.slice(0, 8)}`} height={compact ? 180 : 220} />
          <h3>Drawdown (% from peak)</h3>
          <LineChart series={drawdown} label={`Drawdown of run ${id.slice(0, 8)}`} height={compact ? 140 : 160} />
        </Suspense>
      )}
      {!compact && data.trades && data.trades.items.length > 0 && (
        <>
          <h3>Fills (first {data.trades.items.length})</h3>
          <div className="scroll short">
            <table>
              <thead>
                <tr>
                  <th scope="col">Time (ET)</th>
                  <th scope="col">Side</th>
                  <th scope="col">Symbol</th>
                  <th scope="col" className="num">Qty</th>
                  <th scope="col" className="num">Price</th>
                  <th scope="col" className="num">P&L</th>
                </tr>
              </thead>
              <tbody>
                {data.trades.items.map((t) => (
                  <tr key={String(t.id)}>
                    <td>{nyDateTime(String(t.timestamp))}</td>
                    <td className={`side ${t.type}`}>{String(t.type)}</td>
                    <td>{String(t.symbol)}</td>
                    <td className="num">{String(t.quantity)}</td>
                    <td className="num">{money(String(t.price))}</td>
                    <td className={`num ${tone(t.profit_loss as string)}`}>{t.profit_loss ? signedMoney(String(t.profit_loss)) : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

function curves(data: BacktestDetail | undefined, which: 'equity' | 'drawdown') {
  const names = new Map((data?.summary?.bots ?? []).map((b) => [b.id, b.name]));
  if (which === 'equity') {
    return Object.entries(data?.equity ?? {})
      .filter(([, points]) => points.length)
      .map(([botId, points]) => ({ name: names.get(botId) ?? botId.slice(0, 8), points: points.map((p) => ({ at: p.at, value: Number(p.equity) })) }));
  }
  return Object.entries(data?.drawdown ?? {})
    .filter(([, d]) => d.points.length)
    .map(([botId, d]) => ({ name: names.get(botId) ?? botId.slice(0, 8), points: d.points.map((p) => ({ at: p.at, value: -Number(p.drawdown_pct) })) }));
}
