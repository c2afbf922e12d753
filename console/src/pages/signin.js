// Sign-in: user and password (POST /api/v1/session), or an API token pasted as it is.

import { html, useState } from '../html.js';
import { api } from '../api.js';
import { useReady } from '../ready.js';
import { href } from '../router.js';

function messageFor(error, usingToken) {
  if (error.status === 401) {
    return usingToken
      ? 'That token is not valid: it may be mistyped, expired or revoked.'
      : error.message || 'Wrong user name or password.';
  }
  return error.message || String(error);
}

export function SignInPage({ me, onSignIn, query }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  useReady('signin', true, query.toString());

  const run = async (work, usingToken) => {
    setError('');
    setBusy(true);
    try {
      await work();
    } catch (e) {
      setError(messageFor(e, usingToken));
      setBusy(false);
    }
  };

  const withPassword = (e) => {
    e.preventDefault();
    if (!user.trim() || !password) {
      setError('Enter your user name and password.');
      return;
    }
    run(async () => {
      const { token: issued } = await api.post('/api/v1/session', { user: user.trim(), password }, { auth: false, token: '' });
      await onSignIn(issued);
    }, false);
  };

  const withToken = (e) => {
    e.preventDefault();
    if (!token.trim()) {
      setError('Paste an API token.');
      return;
    }
    run(() => onSignIn(token.trim()), true);
  };

  return html`
    <div class="signin">
      <h1>Sign in to scorch</h1>
      ${query.get('expired') ? html`<p class="notice">Your session has ended. Sign in again to continue.</p>` : null}
      ${me ? html`<p class="notice">You are signed in as <strong>${me.name}</strong>. <a href=${href('/runbooks')}>Go to the runbooks</a></p>` : null}
      ${error ? html`<p class="error" role="alert" data-testid="signin-error">${error}</p>` : null}
      <form class="card" onSubmit=${withPassword} novalidate aria-labelledby="signin-password-title">
        <h2 id="signin-password-title">With your user name</h2>
        <div class="field">
          <label for="signin-user">User name</label>
          <input id="signin-user" data-testid="signin-user" autocomplete="username" autocapitalize="none"
            spellcheck="false" value=${user} onInput=${(e) => setUser(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="signin-password">Password</label>
          <input id="signin-password" data-testid="signin-password" type="password" autocomplete="current-password"
            value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
        </div>
        <button type="submit" class="btn btn-primary" data-testid="signin-submit" disabled=${busy}>Sign in</button>
      </form>
      <form class="card" onSubmit=${withToken} novalidate aria-labelledby="signin-token-title">
        <h2 id="signin-token-title">Or with an API token</h2>
        <div class="field">
          <label for="signin-token">API token</label>
          <input id="signin-token" data-testid="signin-token" type="password" autocomplete="off" spellcheck="false"
            placeholder="sct_…" value=${token} onInput=${(e) => setToken(e.currentTarget.value)} />
          <span class="hint">A token made with <code>scorch token create</code>, or the one <code>scorch up</code> printed.</span>
        </div>
        <button type="submit" class="btn" data-testid="signin-token-submit" disabled=${busy}>Sign in with token</button>
      </form>
    </div>`;
}
