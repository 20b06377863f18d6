// POST api/v1/clusters/{cluster}/namespaces/{ns}/rollouts/{name}/{action}, relative to the base href.

import type { ActionBody, ActionName } from '../lib/actionRules';
import { appUrl } from './config';
import { getJson, sessionEnded } from './session';
import { endsSession } from '../lib/session';
import { rolloutPath, type RolloutDetail, type RolloutId } from './protocol';

export interface ActionResult {
  ok: boolean;
  status: number;
  message: string;
  code?: string;
  /** 409 `stale`: the server's sentences on what changed since the view was taken. */
  changes?: string[];
}

export async function postAction(id: RolloutId, action: ActionName, body: ActionBody): Promise<ActionResult> {
  const url = appUrl(`${rolloutPath(id)}/${action}`);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Rollouts-Dashboard': '1' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (err) {
    return { ok: false, status: 0, message: `The request did not reach the server: ${String(err)}` };
  }
  let json: unknown = null;
  try {
    json = await res.json();
  } catch {
    // not JSON (a proxy error page, for example)
  }
  if (res.status === 401 && endsSession(json)) sessionEnded();
  if (res.ok) {
    const message = (json as { message?: unknown } | null)?.message;
    return { ok: true, status: res.status, message: typeof message === 'string' ? message : `${action} done` };
  }
  const err = (json as { error?: { code?: unknown; message?: unknown; details?: { changes?: unknown } } } | null)?.error;
  const changes = Array.isArray(err?.details?.changes) ? err.details.changes.filter((c): c is string => typeof c === 'string') : undefined;
  const message = typeof err?.message === 'string' ? err.message : `${res.status} ${res.statusText}`;
  const code = typeof err?.code === 'string' ? err.code : undefined;
  const prefix =
    res.status === 401 ? (code === 'notSignedIn' ? 'Not signed in on this cluster' : 'Signed out') :
    res.status === 403 ? 'Not allowed' :
    res.status === 409 ? 'The rollout changed since you looked at it' :
    res.status === 404 ? 'Not found' :
    res.status === 503 && code === 'clusterUnavailable' ? 'The cluster is not available' :
    res.status === 422 ? 'Cannot do that' : 'Failed';
  return { ok: false, status: res.status, message: `${prefix}: ${message}`, ...(code !== undefined ? { code } : {}), ...(changes ? { changes } : {}) };
}

/** The rollout's current detail from the REST API (what a refreshed dialog shows); null on failure. */
export async function fetchDetail(id: RolloutId): Promise<RolloutDetail | null> {
  const d = await getJson(rolloutPath(id));
  return d && typeof d === 'object' && 'summary' in d ? (d as RolloutDetail) : null;
}
