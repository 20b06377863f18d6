// The signed-in person (GET api/v1/whoami) and where to send the browser when the session ends. Pure.

export type AuthMode = 'none' | 'proxy' | 'token';

export interface Whoami {
  user: string;
  groups: string[];
  authMode: AuthMode;
  readOnly: boolean;
  /** Token mode: seconds left in the session when asked; null otherwise. */
  sessionExpiresInSeconds: number | null;
  /**
   * Per cluster, whether the person is signed in there (protocol 5): false only with
   * `--auth token` for a cluster that did not accept the token. Empty from an older server.
   */
  clusters: { name: string; signedIn: boolean }[];
}

/** Validates the JSON answer; null when it does not have the expected shape. */
export function parseWhoami(json: unknown): Whoami | null {
  if (typeof json !== 'object' || json === null) return null;
  const j = json as Record<string, unknown>;
  if (typeof j.user !== 'string') return null;
  const mode = j.authMode === 'proxy' || j.authMode === 'token' || j.authMode === 'none' ? j.authMode : null;
  if (mode === null) return null;
  const expires = j.sessionExpiresInSeconds;
  return {
    user: j.user,
    groups: Array.isArray(j.groups) ? j.groups.filter((g): g is string => typeof g === 'string') : [],
    authMode: mode,
    readOnly: j.readOnly === true,
    sessionExpiresInSeconds: typeof expires === 'number' && Number.isFinite(expires) && expires >= 0 ? expires : null,
    clusters: Array.isArray(j.clusters)
      ? j.clusters.flatMap((c: unknown) => {
          const { name, signedIn } = (typeof c === 'object' && c !== null ? c : {}) as { name?: unknown; signedIn?: unknown };
          // Signed in unless the server says not: a missing flag never disables anything.
          return typeof name === 'string' ? [{ name, signedIn: signedIn !== false }] : [];
        })
      : [],
  };
}

/**
 * Where to go when the server says the session is over (401, or WebSocket close 1008):
 * the sign-in page, except behind an authenticating proxy, where reloading the page lets the
 * proxy sign the person in again (the dashboard has no sign-in page in that mode).
 */
export function sessionEndTarget(mode: AuthMode | null): 'sign-in' | 'reload' {
  return mode === 'proxy' ? 'reload' : 'sign-in';
}

/**
 * Whether a 401's body ends the session. With `--auth token` and several clusters, a request
 * for a cluster that did not accept the token is 401 `notSignedIn`: the session goes on (the
 * page says "not signed in on <cluster>"); any other 401 means the session is over.
 */
export function endsSession(body: unknown): boolean {
  const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
  return code !== 'notSignedIn';
}

/** WebSocket close code the server uses when the session expired or was signed out. */
export const CLOSE_POLICY = 1008;
