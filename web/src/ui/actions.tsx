import { useEffect, useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';
import type { RolloutSummary } from '../api/protocol';
import { postAction } from '../api/actions';
import { permissionsCache } from '../api/session';
import { ACTION_LABELS, availability, describeEffect, seenOf, type ActionBody, type ActionName } from '../lib/actionRules';
import { withPermission, type Permissions } from '../lib/permissions';
import { store, useStore } from '../state/store';

/**
 * Whether per-person permissions matter: someone is signed in (proxy or token mode) and the
 * dashboard accepts actions. With --auth none everyone may do everything the dashboard may.
 */
function usePermissionsActive(): boolean {
  const mode = useStore((s) => s.whoami?.authMode ?? null);
  const readOnly = useStore((s) => s.readOnly);
  return mode !== null && mode !== 'none' && !readOnly;
}

/** The rollout's permissions from the shared 30 s cache (fetched when missing or stale); null while unknown. */
export function usePermissions(namespace: string, name: string): Permissions | null {
  const active = usePermissionsActive();
  const [, force] = useReducer((n: number) => n + 1, 0);
  const value = active ? permissionsCache.get(namespace, name) : null;
  const rendered = useRef(value);
  rendered.current = value;
  useEffect(() => {
    if (!active) return;
    const unsub = permissionsCache.subscribe(() => force(0));
    permissionsCache.ensure(namespace, name);
    // Subscribe, then check: the detail page's request (started in a layout effect) can be
    // answered before this effect runs, and its notification is then missed; without this
    // the buttons would wait for the rollout's next change to show the answer.
    if (permissionsCache.get(namespace, name) !== rendered.current) force(0);
    return unsub;
  }, [active, namespace, name]);
  return value;
}

/** Detail page: fetch the rollout's permissions afresh when the page opens, then every 30 s while it stays open. */
export function useFreshPermissions(namespace: string, name: string): void {
  const active = usePermissionsActive();
  // A layout effect runs before the buttons' effects, so they share this request.
  useLayoutEffect(() => {
    if (!active) return;
    permissionsCache.ensure(namespace, name, true);
    const t = setInterval(() => permissionsCache.ensure(namespace, name), 30_000);
    return () => clearInterval(t);
  }, [active, namespace, name]);
}

export interface PendingAction {
  action: ActionName;
  rollout: RolloutSummary;
  extra?: { container?: string; image?: string; revision?: number };
}

type Listener = (p: PendingAction | null) => void;
let openDialog: Listener | null = null;

/** Opens the confirmation dialog for an action. */
export function requestAction(p: PendingAction): void {
  openDialog?.(p);
}

const DANGER: ReadonlySet<ActionName> = new Set(['abort', 'undo', 'restart', 'set-image', 'promote-full']);

/** The one confirmation dialog of the app (a native modal <dialog>: focus trap, Esc closes). */
export function ConfirmDialog() {
  const [pending, setPending] = useState<PendingAction | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; message: string } | null>(null);
  const ref = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    openDialog = (p) => {
      setPending(p);
      setBusy(false);
      setResult(null);
    };
    return () => {
      openDialog = null;
    };
  }, []);

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (pending && !d.open) d.showModal();
    if (!pending && d.open) d.close();
  }, [pending]);

  const close = () => setPending(null);

  if (!pending) return <dialog ref={ref} class="dialog" aria-labelledby="confirm-title" onClose={close} />;
  const { action, rollout, extra } = pending;
  const effect = describeEffect(action, rollout, extra);

  const confirm = async () => {
    setBusy(true);
    const body: ActionBody = { seen: seenOf(rollout), ...extra };
    const res = await postAction(rollout.namespace, rollout.name, action, body);
    setBusy(false);
    setResult({ ok: res.ok, message: res.message });
    if (res.ok) {
      store().toast('ok', res.message);
      setTimeout(() => setPending((p) => (p === pending ? null : p)), 900);
    }
  };

  return (
    <dialog ref={ref} class="dialog" aria-labelledby="confirm-title" aria-describedby="confirm-desc" onClose={close}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (!busy && !result?.ok) void confirm();
        }}
      >
        <h2 id="confirm-title">
          {ACTION_LABELS[action]} {rollout.name}?
        </h2>
        <p id="confirm-desc">{effect}.</p>
        <p class="small muted">
          Namespace <code>{rollout.namespace}</code> · as seen at resourceVersion <code>{rollout.resourceVersion}</code>
          {rollout.step ? <> · step {rollout.step}</> : null}
        </p>
        {result ? (
          <p class={`result ${result.ok ? 'result-ok' : 'result-err'}`} role={result.ok ? 'status' : 'alert'}>
            {result.message}
            {!result.ok && result.message.includes('changed since') ? ' The page now shows the current state; check it and try again.' : ''}
          </p>
        ) : null}
        <div class="dialog-buttons">
          <button type="button" class="btn" onClick={close}>
            {result ? 'Close' : 'Cancel'}
          </button>
          {!result?.ok ? (
            <button type="submit" class={`btn ${DANGER.has(action) ? 'btn-danger' : 'btn-primary'}`} disabled={busy} aria-busy={busy} autoFocus>
              {busy ? `${ACTION_LABELS[action]}…` : result ? 'Try again' : ACTION_LABELS[action]}
            </button>
          ) : null}
        </div>
      </form>
    </dialog>
  );
}

export function ActionButton({ action, rollout, small = false }: { action: ActionName; rollout: RolloutSummary; small?: boolean }) {
  const perms = usePermissions(rollout.namespace, rollout.name);
  const a = withPermission(availability(action, rollout), action, perms);
  return (
    <button
      type="button"
      class={`btn${small ? ' btn-small' : ''}${action === 'promote' && a.enabled ? ' btn-primary' : ''}`}
      disabled={!a.enabled}
      title={a.reason}
      data-action={action}
      onClick={(e) => {
        e.stopPropagation();
        e.preventDefault();
        requestAction({ action, rollout });
      }}
    >
      {ACTION_LABELS[action]}
    </button>
  );
}

const BAR: ActionName[] = ['promote', 'promote-full', 'pause', 'resume', 'abort', 'retry', 'restart'];

export function ActionBar({ rollout }: { rollout: RolloutSummary }) {
  const readOnly = useStore((s) => s.readOnly);
  if (readOnly) return null;
  return (
    <div class="actions" role="toolbar" aria-label={`Actions for ${rollout.name}`}>
      {BAR.map((a) => (
        <ActionButton key={a} action={a} rollout={rollout} />
      ))}
    </div>
  );
}
