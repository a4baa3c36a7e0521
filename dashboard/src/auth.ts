/**
 * Login with the Cognito user pool's managed login: authorization code with PKCE (S256). The
 * tokens live in this module's memory only, never in localStorage or sessionStorage; only the
 * PKCE verifier, the state and the view to return to survive the round trip to the login page
 * (sessionStorage, this tab, removed on return). A reload signs in again through the user
 * pool's own session, without the password while it lasts.
 */
export interface PageConfig {
  auth: 'none' | 'cognito';
  /** `https://<prefix>.auth.<region>.amazoncognito.com` */
  domain?: string;
  clientId?: string;
}

let config: PageConfig = { auth: 'none' };
let token: string | undefined;
let email: string | undefined;
/** When the token was obtained: a 401 right after a login is a configuration problem, not an expiry. */
let obtainedAt = 0;

const PENDING = 'clickvault.login';

export function accessToken(): string | undefined {
  return token;
}

/** Whether the token in memory was obtained in the last minute. */
export function freshToken(): boolean {
  return token !== undefined && Date.now() - obtainedAt < 60_000;
}

export function signedInAs(): string | undefined {
  return email;
}

export function authMode(): PageConfig['auth'] {
  return config.auth;
}

function redirectUri(): string {
  return `${location.origin}/dashboard/`;
}

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomText(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

export async function signIn(): Promise<never> {
  if (config.auth !== 'cognito' || !config.domain || !config.clientId) throw new Error('no login configured');
  const verifier = randomText();
  const state = randomText();
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, back: location.search }));
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    scope: 'openid email',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  location.assign(`${config.domain}/oauth2/authorize?${query}`);
  return new Promise<never>(() => undefined);
}

export function signOut(): void {
  token = undefined;
  if (config.auth !== 'cognito' || !config.domain || !config.clientId) return;
  location.assign(`${config.domain}/logout?${new URLSearchParams({ client_id: config.clientId, logout_uri: redirectUri() })}`);
}

function claims(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1] ?? '';
  try {
    return JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * Reads the page config; with a login, finishes a sign-in that just came back (code + state)
 * or starts one. Resolves when the API can be called.
 */
export async function startAuth(): Promise<void> {
  const response = await fetch('/dashboard/config.json', { cache: 'no-store' });
  config = (await response.json()) as PageConfig;
  if (config.auth !== 'cognito') return;
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const pendingText = sessionStorage.getItem(PENDING);
  sessionStorage.removeItem(PENDING);
  if (code && pendingText) {
    const pending = JSON.parse(pendingText) as { verifier: string; state: string; back: string };
    if (params.get('state') !== pending.state) throw new Error('The login answer does not match the login we started (state): sign in again.');
    const out = await fetch(`${config.domain}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: config.clientId ?? '', code, redirect_uri: redirectUri(), code_verifier: pending.verifier }),
    });
    if (!out.ok) throw new Error(`The login could not be completed (${out.status}): sign in again.`);
    const tokens = (await out.json()) as { access_token?: string; id_token?: string };
    token = tokens.access_token;
    obtainedAt = Date.now();
    const id = tokens.id_token ? claims(tokens.id_token) : {};
    email = typeof id.email === 'string' ? id.email : undefined;
    // Back to the view the user was on, without the code in the address bar.
    history.replaceState(null, '', `/dashboard/${pending.back}`);
    return;
  }
  await signIn();
}
