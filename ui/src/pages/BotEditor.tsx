import { useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { ApiError } from '../api/client';
import { botQuery, useBots, useSaveBot } from '../api/queries';
import {
  configFromForm,
  emptyForm,
  formFromConfig,
  INDICATOR_NAMES,
  INDICATOR_PARAMS,
  placeErrors,
  SYMBOL,
  type BotForm,
} from '../botForm';
import { percent } from '../format';
import { Link, navigate } from '../router';

const fieldId = (name: string) => `f-${name.replace(/\./g, '-')}`;

function Field({
  name,
  label,
  error,
  hint,
  children,
}: {
  name: string;
  label: string;
  error?: string;
  hint?: ReactNode;
  children: (props: Record<string, unknown>) => ReactNode;
}) {
  const id = fieldId(name);
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, name, 'aria-invalid': error ? true : undefined, 'aria-describedby': described || undefined })}
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p className="error" id={`${id}-error`} data-field={name}>
          {error}
        </p>
      )}
    </div>
  );
}

const asPercent = (text: string) => (text.trim() && Number.isFinite(Number(text)) ? `= ${percent(text, 2)}` : '');

/** Create a bot, or edit one (`id`): every config field, with the API's errors beside them. */
export default function BotEditor({ id }: { id: string | null }) {
  const existing = useQuery({ ...botQuery(id ?? ''), enabled: !!id });
  const bots = useBots().data;
  const save = useSaveBot();
  const [form, setForm] = useState<BotForm>(emptyForm);
  const [loaded, setLoaded] = useState(!id);
  const [symbolDraft, setSymbolDraft] = useState('');
  const [symbolError, setSymbolError] = useState<string | null>(null);
  const summary = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (id && existing.data && !loaded) {
      setForm(formFromConfig(existing.data.config));
      setLoaded(true);
    }
  }, [id, existing.data, loaded]);

  const apiError = save.error instanceof ApiError ? save.error : null;
  const { byField, rest } = useMemo(
    () => (apiError ? placeErrors(apiError.fields) : { byField: {}, rest: save.error ? [save.error.message] : [] }),
    [apiError, save.error],
  );
  const known = useMemo(() => [...new Set((bots ?? []).flatMap((b) => b.config.symbols))].sort(), [bots]);
  const chosen = Object.values(form.indicators).filter((i) => i.on).length;

  useEffect(() => {
    if (save.error) summary.current?.focus();
  }, [save.error]);

  const set = <K extends keyof BotForm>(key: K, value: BotForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const setParam = (kind: string, name: string, value: string) =>
    setForm((f) => ({
      ...f,
      indicators: { ...f.indicators, [kind]: { ...f.indicators[kind], params: { ...f.indicators[kind].params, [name]: value } } },
    }));
  const toggle = (kind: string) =>
    setForm((f) => ({ ...f, indicators: { ...f.indicators, [kind]: { ...f.indicators[kind], on: !f.indicators[kind].on } } }));

  function addSymbol() {
    const symbol = symbolDraft.trim().toUpperCase();
    if (!symbol) return;
    if (!SYMBOL.test(symbol)) setSymbolError(`${symbol} is not a ticker (A–Z, digits and dots, up to 10)`);
    else if (form.symbols.includes(symbol)) setSymbolError(`${symbol} is already in the list`);
    else {
      set('symbols', [...form.symbols, symbol]);
      setSymbolDraft('');
      setSymbolError(null);
    }
  }

  function symbolKey(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === 'Enter' || event.key === ',') {
      event.preventDefault();
      addSymbol();
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    save.mutate(
      { id, config: configFromForm(form) },
      { onSuccess: () => navigate('/') },
    );
  }

  if (id && existing.error) return <p className="error">Cannot load the bot: {existing.error.message}</p>;
  if (!loaded) return <p className="muted">Loading the bot…</p>;

  return (
    <section className="editor">
      <h1>{id ? `Edit ${existing.data?.name ?? 'bot'}` : 'New bot'}</h1>
      {id && existing.data?.status === 'running' && (
        <p className="badge warn">This bot is running: the new config applies from its next bar.</p>
      )}
      <form onSubmit={submit} noValidate aria-describedby="form-errors">
        <div id="form-errors" ref={summary} tabIndex={-1} role="alert" className={rest.length || apiError ? 'summary' : ''}>
          {apiError && <p>The API refused the config; see the marked fields.</p>}
          {rest.length > 0 && (
            <ul>
              {rest.map((message) => (
                <li key={message} className="error">
                  {message}
                </li>
              ))}
            </ul>
          )}
        </div>

        <fieldset>
          <legend>Bot</legend>
          <Field name="name" label="Name" error={byField.name} hint="Letters, digits, spaces, _ . -">
            {(p) => <input {...p} value={form.name} onChange={(e) => set('name', e.target.value)} autoComplete="off" />}
          </Field>
          <Field name="capital" label="Capital (USD)" error={byField.capital}>
            {(p) => <input {...p} inputMode="decimal" value={form.capital} onChange={(e) => set('capital', e.target.value)} />}
          </Field>
          <Field name="trading_frequency" label="Trade every (minutes)" error={byField.trading_frequency}>
            {(p) => (
              <input {...p} type="number" min={1} step={1} value={form.frequencyMinutes} onChange={(e) => set('frequencyMinutes', e.target.value)} />
            )}
          </Field>
        </fieldset>

        <fieldset>
          <legend>Symbols</legend>
          <Field
            name="symbols"
            label="Add a symbol"
            error={symbolError ?? byField.symbols}
            hint="Type a ticker and press Enter or Add."
          >
            {(p) => (
              <div className="row">
                <input
                  {...p}
                  list="known-symbols"
                  value={symbolDraft}
                  onChange={(e) => setSymbolDraft(e.target.value.toUpperCase())}
                  onKeyDown={symbolKey}
                  autoComplete="off"
                  spellCheck={false}
                />
                <button type="button" onClick={addSymbol}>
                  Add
                </button>
              </div>
            )}
          </Field>
          <datalist id="known-symbols">
            {known.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
          <ul className="chips" aria-label="Chosen symbols">
            {form.symbols.map((s) => (
              <li key={s} className="chip">
                {s}
                <button type="button" className="x" aria-label={`Remove ${s}`} onClick={() => set('symbols', form.symbols.filter((x) => x !== s))}>
                  ×
                </button>
              </li>
            ))}
            {form.symbols.length === 0 && <li className="muted">none yet</li>}
          </ul>
        </fieldset>

        <fieldset>
          <legend>Indicators</legend>
          {byField.indicators && <p className="error" data-field="indicators">{byField.indicators}</p>}
          <div className="indicators">
            {Object.entries(INDICATOR_PARAMS).map(([kind, params]) => {
              const indicator = form.indicators[kind];
              const kindError = byField[`indicators.${kind}`];
              return (
                <div key={kind} className={`indicator${indicator.on ? ' on' : ''}`}>
                  <label className="check">
                    <input type="checkbox" checked={indicator.on} onChange={() => toggle(kind)} name={`indicator-${kind}`} />
                    {kind} <span className="muted">{INDICATOR_NAMES[kind]}</span>
                  </label>
                  {indicator.on && params.length > 0 && (
                    <div className="params">
                      {params.map((p) => (
                        <Field key={p.name} name={`indicators.${kind}.${p.name}`} label={`${kind} ${p.label}`} error={byField[`indicators.${kind}.${p.name}`]}>
                          {(props) => (
                            <input {...props} inputMode="decimal" value={indicator.params[p.name]} onChange={(e) => setParam(kind, p.name, e.target.value)} />
                          )}
                        </Field>
                      ))}
                    </div>
                  )}
                  {kindError && <p className="error" data-field={`indicators.${kind}`}>{kindError}</p>}
                </div>
              );
            })}
          </div>
          <Field
            name="min_votes"
            label="Votes needed to buy"
            error={byField.min_votes}
            hint={`Buy when at least this many indicators vote buy and buys outnumber sells. Empty: a majority (${Math.floor(chosen / 2) + 1} of ${chosen}).`}
          >
            {(p) => <input {...p} type="number" min={1} max={Math.max(chosen, 1)} value={form.minVotes} onChange={(e) => set('minVotes', e.target.value)} />}
          </Field>
        </fieldset>

        <fieldset>
          <legend>Risk (fractions: 0.02 = 2%)</legend>
          <div className="grid">
            <Field name="risk_management.stop_loss" label="Stop-loss below entry" error={byField['risk_management.stop_loss']} hint={asPercent(form.stopLoss) || 'empty: none'}>
              {(p) => <input {...p} inputMode="decimal" value={form.stopLoss} onChange={(e) => set('stopLoss', e.target.value)} />}
            </Field>
            <Field name="risk_management.take_profit" label="Take-profit above entry" error={byField['risk_management.take_profit']} hint={asPercent(form.takeProfit) || 'empty: none'}>
              {(p) => <input {...p} inputMode="decimal" value={form.takeProfit} onChange={(e) => set('takeProfit', e.target.value)} />}
            </Field>
            <Field name="risk_management.max_position_size" label="Largest position, of capital" error={byField['risk_management.max_position_size']} hint={asPercent(form.maxPositionSize)}>
              {(p) => <input {...p} inputMode="decimal" value={form.maxPositionSize} onChange={(e) => set('maxPositionSize', e.target.value)} />}
            </Field>
            <Field name="risk_management.max_daily_loss" label="Daily loss limit, of capital" error={byField['risk_management.max_daily_loss']} hint={asPercent(form.maxDailyLoss) || 'empty: none'}>
              {(p) => <input {...p} inputMode="decimal" value={form.maxDailyLoss} onChange={(e) => set('maxDailyLoss', e.target.value)} />}
            </Field>
            <Field name="risk_management.max_positions" label="Open positions at most" error={byField['risk_management.max_positions']}>
              {(p) => <input {...p} type="number" min={1} value={form.maxPositions} onChange={(e) => set('maxPositions', e.target.value)} />}
            </Field>
            <Field name="entry_price_buffer" label="Entry limit above the close" error={byField.entry_price_buffer} hint={asPercent(form.entryPriceBuffer)}>
              {(p) => <input {...p} inputMode="decimal" value={form.entryPriceBuffer} onChange={(e) => set('entryPriceBuffer', e.target.value)} />}
            </Field>
          </div>
        </fieldset>

        <fieldset>
          <legend>Trading window (New York time, clipped to the session)</legend>
          <div className="grid">
            <Field name="start" label="From" error={byField.start}>
              {(p) => <input {...p} type="time" value={form.start} onChange={(e) => set('start', e.target.value)} />}
            </Field>
            <Field name="end" label="Until" error={byField.end}>
              {(p) => <input {...p} type="time" value={form.end} onChange={(e) => set('end', e.target.value)} />}
            </Field>
          </div>
          <label className="check">
            <input type="checkbox" name="flatten_at_end" checked={form.flattenAtEnd} onChange={(e) => set('flattenAtEnd', e.target.checked)} />
            Sell every position in the window's last minute
          </label>
        </fieldset>

        <div className="row actions">
          <button type="submit" className="primary" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : id ? 'Save changes' : 'Create bot'}
          </button>
          <Link to="/">Cancel</Link>
        </div>
      </form>
    </section>
  );
}
