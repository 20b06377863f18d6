// whoami, sign-out, per-rollout permissions, and what happens when the session ends: a 401
// from any API call (or WebSocket close 1008, see connection.ts) sends the browser to
// auth/sign-in, relative to the base href.

import { parsePermissions, PermissionsCache, type Permissions } from '../lib/permissions';
import { endsSession, parseWhoami, sessionEndTarget, type AuthMode, type Whoami } from '../lib/session';
import { appUrl } from './config';
import { rolloutPath, type RolloutId } from './protocol';

let authMode: AuthMode | null = null;
let leaving = false;

/** True once the page is on its way to the sign-in page: stop reconnecting and retrying. */
export function isLeaving(): boolean {
  return leaving;
}

/** The session is over: sign in again (once, however many requests noticed it). */
export function sessionEnded(): void {
  if (leaving) return;
  leaving = true;
  if (sessionEndTarget(authMode) === 'reload') window.location.reload();
  else window.location.assign(appUrl('auth/sign-in').href);
}

/** GET a JSON endpoint; 401 ends the session (unless only one cluster refused the person). Null on any failure. */
export async function getJson(relative: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(appUrl(relative), { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  } catch {
    return null;
  }
  if (res.status === 401) {
    if (endsSession(await res.json().catch(() => null))) sessionEnded();
    return null;
  }
  if (!res.ok) return null;
  try {
    return (await res.json()) as unknown;
  } catch {
    return null;
  }
}

export async function loadWhoami(): Promise<Whoami | null> {
  const who = parseWhoami(await getJson('api/v1/whoami'));
  if (who) authMode = who.authMode;
  return who;
}

/** POST auth/sign-out (token mode), then the sign-in page. Returns an error message on failure. */
export async function signOut(): Promise<string | null> {
  try {
    const res = await fetch(appUrl('auth/sign-out'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Rollouts-Dashboard': '1' },
      credentials: 'same-origin',
    });
    if (!res.ok && res.status !== 401) {
      // The server says why (e.g. the sign-out could not be recorded for the other replicas).
      const body: unknown = await res.json().catch(() => null);
      const message = (body as { error?: { message?: unknown } } | null)?.error?.message;
      return typeof message === 'string' ? `Sign-out failed: ${message}` : `Sign-out failed: ${res.status} ${res.statusText}`;
    }
  } catch (err) {
    return `Sign-out failed: the request did not reach the server (${String(err)})`;
  }
  leaving = true;
  window.location.assign(appUrl('auth/sign-in').href);
  return null;
}

async function fetchPermissions(id: RolloutId): Promise<Permissions | null> {
  return parsePermissions(await getJson(`${rolloutPath(id)}/permissions`));
}

/** The app's one permissions cache (30 s per rollout). */
export const permissionsCache = new PermissionsCache(fetchPermissions);
