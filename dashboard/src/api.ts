/** The dashboard's API calls: same origin, the access token (when there is a login) in memory only. */
import { accessToken, freshToken, signIn } from './auth';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, params: Record<string, string | undefined> = {}): Promise<T> {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') query.set(k, v);
  const qs = query.toString();
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = accessToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`/api/${path}${qs ? `?${qs}` : ''}`, { headers, credentials: 'omit', cache: 'no-store' });
  if (response.status === 401) {
    // Refused right after signing in: the API does not accept this login (never loop through it).
    if (freshToken()) throw new ApiError(401, 'The API refused the login token: check the stack (user pool client and authorizer) and sign in again.');
    // The token expired (an hour): the user pool's session signs in again without a password.
    await signIn();
    throw new ApiError(401, 'Signing in again…');
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(response.status, `${response.status}: ${text.slice(0, 200)}`);
  }
  if (!response.ok) {
    const error = (body as { error?: unknown }).error;
    throw new ApiError(response.status, typeof error === 'string' ? error : `HTTP ${response.status}`);
  }
  return body as T;
}
