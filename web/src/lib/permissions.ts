// What the signed-in person may do to one rollout (GET api/v1/clusters/{cluster}/namespaces/{ns}/rollouts/{name}/permissions,
// decided by Kubernetes RBAC on the server), combined with whether an action applies at all. Pure.

import { keyOf, type RolloutId } from '../api/protocol';
import { ACTION_LABELS, type ActionAvailability, type ActionName } from './actionRules';

export interface Permissions {
  /** Action name → allowed. A missing action is treated as allowed (the server decides anyway). */
  actions: Record<string, boolean>;
  /** Action name → why not (for denied actions). */
  reasons: Record<string, string>;
}

/** Validates the JSON answer; null when it does not have the expected shape. */
export function parsePermissions(json: unknown): Permissions | null {
  if (typeof json !== 'object' || json === null) return null;
  const { actions, reasons } = json as { actions?: unknown; reasons?: unknown };
  if (typeof actions !== 'object' || actions === null || Array.isArray(actions)) return null;
  const out: Permissions = { actions: {}, reasons: {} };
  for (const [k, v] of Object.entries(actions)) if (typeof v === 'boolean') out.actions[k] = v;
  if (typeof reasons === 'object' && reasons !== null && !Array.isArray(reasons)) {
    for (const [k, v] of Object.entries(reasons)) if (typeof v === 'string') out.reasons[k] = v;
  }
  return out;
}

/** Why `action` is denied, as shown in a title ("You may not promote: ..."), or null when allowed or unknown. */
export function deniedReason(action: ActionName, perms: Permissions | null): string | null {
  if (!perms || perms.actions[action] !== false) return null;
  const why = perms.reasons[action]?.trim() || 'not allowed';
  return `You may not ${ACTION_LABELS[action].toLowerCase()}: ${why}`;
}

/**
 * Combines "does the action apply" with "may this person use it": enabled only when both
 * hold; the title names every reason it is disabled (permission first).
 */
export function withPermission(a: ActionAvailability, action: ActionName, perms: Permissions | null): ActionAvailability {
  const denied = deniedReason(action, perms);
  if (denied === null) return a;
  return { enabled: false, reason: a.enabled ? denied : `${denied}\n${a.reason}` };
}

interface Entry {
  /** When the last answer arrived (or the last attempt failed). */
  at: number;
  value: Permissions | null;
  pending: boolean;
}

/**
 * Permissions per rollout (permissions are per cluster: RBAC is each cluster's), kept `ttlMs` (the server caches its RBAC answers as long), with one
 * request in flight per rollout at most. A failed request is remembered as "unknown" (null)
 * for the same time, so a broken endpoint is not hammered.
 */
export class PermissionsCache {
  private entries = new Map<string, Entry>();
  private listeners = new Set<() => void>();

  constructor(
    private readonly load: (id: RolloutId) => Promise<Permissions | null>,
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(id: RolloutId): Permissions | null {
    return this.entries.get(keyOf(id))?.value ?? null;
  }

  /** Fetches when missing, older than the TTL, or `force`d; never twice at once. */
  ensure(id: RolloutId, force = false): void {
    const key = keyOf(id);
    const e = this.entries.get(key);
    if (e?.pending) return;
    if (e && !force && this.now() - e.at < this.ttlMs) return;
    const entry: Entry = { at: e?.at ?? 0, value: e?.value ?? null, pending: true };
    this.entries.set(key, entry);
    const done = (value: Permissions | null) => {
      this.entries.set(key, { at: this.now(), value, pending: false });
      for (const l of this.listeners) l();
    };
    this.load({ cluster: id.cluster, namespace: id.namespace, name: id.name }).then(done, () => done(null));
  }

  subscribe(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
