import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api/client';
import { setToken } from '../auth';

/** Asks for an API token (`openbell token create`) and checks it before keeping it. */
export function Login() {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const token = value.trim();
    if (!token) {
      setError('Paste the token that `openbell token create` (or `make run`) printed.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api('/api/market/status', { token });
      setToken(token);
    } catch (exc) {
      setError(
        exc instanceof ApiError && exc.status === 401
          ? 'The API refused this token: it is unknown or revoked.'
          : `Cannot reach the API: ${(exc as Error).message}`,
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" className="login">
      <h1>Openbell</h1>
      <form onSubmit={submit} noValidate>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="ob_…"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'token-error' : 'token-help'}
          autoFocus
        />
        <p id="token-help" className="hint">
          Create one with <code>openbell token create</code>; <code>make run</code> prints one.
        </p>
        {error && (
          <p id="token-error" className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
