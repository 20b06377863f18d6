import { useEffect, useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';
import { keyOf, type ActionVerdict, type RolloutId, type RolloutSummary } from '../api/protocol';
import { fetchDetail, postAction } from '../api/actions';
import { permissionsCache } from '../api/session';
import { ACTION_LABELS, availability, describeEffect, fromVerdict, mainAction, seenOf, type ActionBody, type ActionName } from '../lib/actionRules';
import { withPermission, type Permissions } from '../lib/permissions';
import { currentStepNumber, describeStaleChange, stepPosition, upstreamStepFigure } from '../lib/steps';
import { useOffline } from './common';
import { factsOf, isFleet, store, useStore } from '../state/store';

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
export function usePermissions(id: RolloutId): Permissions | null {
  const { cluster, namespace, name } = id;
  const active = usePermissionsActive();
  const [, force] = useReducer((n: number) => n + 1, 0);
  const value = active ? permissionsCache.get(id) : null;
  const rendered = useRef(value);
  rendered.current = value;
  useEffect(() => {
    if (!active) return;
    const unsub = permissionsCache.subscribe(() => force(0));
    permissionsCache.ensure({ cluster, namespace, name });
    // Subscribe, then check: the detail page's request (started in a layout effect) can be
    // answered before this effect runs, and its notification is then missed; without this
    // the buttons would wait for the rollout's next change to show the answer.
    if (permissionsCache.get({ cluster, namespace, name }) !== rendered.current) force(0);
    return unsub;
  }, [active, cluster, namespace, name]);
  return value;
}

/** Detail page: fetch the rollout's permissions afresh when the page opens, then every 30 s while it stays open. */
export function useFreshPermissions({ cluster, namespace, name }: RolloutId): void {
  const active = usePermissionsActive();
  // A layout effect runs before the buttons' effects, so they share this request.
  useLayoutEffect(() => {
    if (!active) return;
    const id = { cluster, namespace, name };
    permissionsCache.ensure(id, true);
    const t = setInterval(() => permissionsCache.ensure(id), 30_000);
    return () => clearInterval(t);
  }, [active, cluster, namespace, name]);
}

/**
 * Why nothing may be done to the rollouts of `cluster` now (not synced, or not signed in
 * there), or null. A string: components re-render only when it changes.
 */
export function useClusterBlocked(cluster: string): string | null {
  return useStore((s) => factsOf(s).blocked.get(cluster) ?? null);
}

export interface PendingAction {
  action: ActionName;
  rollout: RolloutSummary;
  extra?: { container?: string; image?: string; revision?: number };
  /** The steps' labels as the timeline shows them, when the opener has them. */
  steps?: readonly string[];
  /** The server's verdicts (a detail's `actions`), when the opener has them. */
  verdicts?: Record<string, ActionVerdict>;
}

/** The server's verdict when given, else the list's rules. */
function ruled(action: ActionName, rollout: RolloutSummary, verdicts?: Record<string, ActionVerdict>) {
  const v = verdicts?.[action];
  return v ? fromVerdict(action, rollout, v) : availability(action, rollout);
}

type Listener = (p: PendingAction | null) => void;
let openDialog: Listener | null = null;

/** Opens the confirmation dialog for an action. */
export function requestAction(p: PendingAction): void {
  openDialog?.(p);
}

const DANGER: ReadonlySet<ActionName> = new Set(['abort', 'undo', 'restart', 'set-image', 'promote-full']);
/** Only these confirm on Enter as the dialog opens; every other dialog opens on Cancel. */
const CONFIRM_ON_ENTER: ReadonlySet<ActionName> = new Set(['promote']);

/** The step labels of the dialog's rollout: the opener's, else looked up once. */
function useStepLabels(p: PendingAction | null): readonly string[] | undefined {
  const [fetched, setFetched] = useState<{ key: string; labels: readonly string[] } | null>(null);
  const r = p?.rollout;
  const key = r ? keyOf(r) : '';
  const wanted = !!r && !p?.steps && r.strategy === 'Canary' && r.stepCount > 0;
  useEffect(() => {
    if (!wanted || !r || fetched?.key === key) return;
    let cancelled = false;
    void fetchDetail(r).then((d) => {
      if (!cancelled && d && d.steps.length === r.stepCount) setFetched({ key, labels: d.steps.map((s) => s.label) });
    });
    return () => {
      cancelled = true;
    };
  }, [key, wanted]);
  if (p?.steps) return p.steps;
  return fetched && fetched.key === key ? fetched.labels : undefined;
}

/** The one confirmation dialog of the app (a native modal <dialog>: focus trap, Esc closes). */
export function ConfirmDialog() {
  const [pending, setPending] = useState<PendingAction | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; message: string } | null>(null);
  /** What changed since the dialog opened (a 409), in the page's words; the dialog then shows the current state. */
  const [changed, setChanged] = useState<string[] | null>(null);
  const ref = useRef<HTMLDialogElement>(null);
  const offline = useOffline();
  const labels = useStepLabels(pending);
  const fleet = useStore(isFleet);
  const clusterBlocked = useStore((s) => (pending ? factsOf(s).blocked.get(pending.rollout.cluster) ?? null : null));
  // What keeps the action from being sent now: the page is not live, or its cluster is not available.
  const cannot = offline ?? clusterBlocked;

  useEffect(() => {
    openDialog = (p) => {
      setPending(p);
      setBusy(false);
      setResult(null);
      setChanged(null);
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
  const effect = describeEffect(action, rollout, extra, labels);
  // After a refresh the action may no longer apply to the new state.
  const still = changed ? ruled(action, rollout, pending.verdicts) : null;
  const canConfirm = !result?.ok && (still === null || still.enabled);
  const position = rollout.strategy === 'Canary' ? stepPosition(rollout.stepIndex, rollout.stepCount) : null;
  const cur = currentStepNumber(rollout.stepIndex, rollout.stepCount);
  const curLabel = cur !== null ? labels?.[cur - 1] : undefined;
  const figure = upstreamStepFigure(rollout.stepIndex, rollout.stepCount);

  const confirm = async () => {
    if (cannot !== null) return;
    setBusy(true);
    const body: ActionBody = { seen: seenOf(rollout), ...extra };
    const res = await postAction(rollout, action, body);
    if (!res.ok && res.status === 409 && res.code === 'stale') {
      // Out of date: say what changed, once, and show the current state to act on.
      const fresh = await fetchDetail(rollout);
      const said = (res.changes ?? []).map((c) => describeStaleChange(c, rollout.stepCount, labels));
      setBusy(false);
      setChanged(said.length > 0 ? said : ['it was changed']);
      if (fresh) {
        setResult(null);
        setPending((p) => (p === pending ? { ...p, rollout: fresh.summary, steps: fresh.steps.map((st) => st.label), verdicts: fresh.actions } : p));
      } else {
        setResult({ ok: false, message: 'The current state could not be loaded: close this dialog and start the action again from the page.' });
      }
      return;
    }
    setBusy(false);
    setChanged(null);
    setResult({ ok: res.ok, message: res.message });
    if (res.ok) {
      store().toast('ok', res.message);
      setTimeout(() => setPending((p) => (p === pending ? null : p)), 900);
    }
  };

  const focusConfirm = CONFIRM_ON_ENTER.has(action);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="confirm-title" aria-describedby="confirm-desc" onClose={close}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (!busy && canConfirm && cannot === null) void confirm();
        }}
      >
        {/* With several clusters every dialog names the one acted on: "Promote checkout in prod-eu?" */}
        <h2 id="confirm-title">
          {ACTION_LABELS[action]} {rollout.name}
          {fleet ? (
            <>
              {' '}
              in <strong class="dialog-cluster" data-cluster={rollout.cluster}>{rollout.cluster}</strong>
            </>
          ) : null}
          ?
        </h2>
        {changed ? (
          <div class="stale-changes" role="alert">
            <strong>The rollout changed since you opened this dialog:</strong> {changed.join('; ')}.{' '}
            {result ? null : still?.enabled ? 'Below is its current state; confirm again to act on it.' : `Below is its current state. ${still?.reason ?? ''}`}
          </div>
        ) : null}
        <p id="confirm-desc">{effect}.</p>
        <p class="small muted">
          {fleet ? (
            <>
              Cluster <code>{rollout.cluster}</code> ·{' '}
            </>
          ) : null}
          Namespace <code>{rollout.namespace}</code> · as seen at resourceVersion <code>{rollout.resourceVersion}</code>
          {position ? (
            <>
              {' '}
              · {position}
              {curLabel ? ` “${curLabel}”` : ''}
              {figure ? <span title="status.currentStepIndex, as kubectl argo rollouts shows it"> ({figure})</span> : null}
            </>
          ) : null}
        </p>
        {cannot !== null && !result?.ok ? (
          <p class="result result-err" role="alert">
            {cannot}
          </p>
        ) : null}
        {result ? (
          <p class={`result ${result.ok ? 'result-ok' : 'result-err'}`} role={result.ok ? 'status' : 'alert'}>
            {result.message}
          </p>
        ) : null}
        <div class="dialog-buttons">
          <button type="button" class="btn" onClick={close} autoFocus={!focusConfirm}>
            {result?.ok || (still !== null && !still.enabled) ? 'Close' : 'Cancel'}
          </button>
          {canConfirm ? (
            <button
              type="submit"
              class={`btn ${DANGER.has(action) ? 'btn-danger' : 'btn-primary'}`}
              disabled={busy || cannot !== null}
              title={cannot ?? undefined}
              aria-busy={busy}
              autoFocus={focusConfirm}
            >
              {busy ? `${ACTION_LABELS[action]}…` : result ? 'Try again' : ACTION_LABELS[action]}
            </button>
          ) : null}
        </div>
      </form>
    </dialog>
  );
}

/** Whether `action` applies to `rollout` now, and why (or what it does): connection, cluster, permissions, rules. */
function useAvailability(action: ActionName, rollout: RolloutSummary, verdicts?: Record<string, ActionVerdict>): { enabled: boolean; reason: string } {
  const perms = usePermissions(rollout);
  const offline = useOffline();
  const blocked = useClusterBlocked(rollout.cluster);
  if (offline !== null) return { enabled: false, reason: offline };
  if (blocked !== null) return { enabled: false, reason: blocked };
  return withPermission(ruled(action, rollout, verdicts), action, perms);
}

export function ActionButton({
  action,
  rollout,
  small = false,
  steps,
  verdicts,
  primary = false,
  onChosen,
}: {
  action: ActionName;
  rollout: RolloutSummary;
  small?: boolean;
  steps?: readonly string[];
  /** The server's verdicts (the detail's `actions`); the list's rules without them. */
  verdicts?: Record<string, ActionVerdict> | undefined;
  /** The rollout's main action: drawn as the primary button while enabled. */
  primary?: boolean;
  /** Called before the confirmation opens (a menu closes itself). */
  onChosen?: () => void;
}) {
  const a = useAvailability(action, rollout, verdicts);
  return (
    <button
      type="button"
      class={`btn${small ? ' btn-small' : ''}${primary && a.enabled ? ' btn-primary' : ''}`}
      disabled={!a.enabled}
      title={a.reason}
      data-action={action}
      onClick={(e) => {
        e.stopPropagation();
        e.preventDefault();
        onChosen?.();
        requestAction({ action, rollout, ...(steps ? { steps } : {}), ...(verdicts ? { verdicts } : {}) });
      }}
    >
      {ACTION_LABELS[action]}
    </button>
  );
}

// ---- the list row's menu of other actions ------------------------------------------------

let openMenu: ((key: string) => void) | null = null;

/** "⋯" in a list row or card: opens the row's other actions. */
export function RowMenuButton({ rollout }: { rollout: RolloutSummary }) {
  const readOnly = useStore((s) => s.readOnly);
  const fleet = useStore(isFleet);
  if (readOnly) return null;
  return (
    <button
      type="button"
      class="btn btn-small btn-more"
      aria-haspopup="dialog"
      aria-label={`More actions for ${rollout.name}${fleet ? ` in ${rollout.cluster}` : ''}`}
      title="More actions: abort, retry, restart"
      data-menu={rollout.name}
      onClick={(e) => {
        e.stopPropagation();
        e.preventDefault();
        openMenu?.(keyOf(rollout));
      }}
    >
      ⋯
    </button>
  );
}

const MENU: ActionName[] = ['abort', 'retry', 'restart'];

function MenuItem({ action, rollout, close }: { action: ActionName; rollout: RolloutSummary; close: () => void }) {
  const a = useAvailability(action, rollout);
  return (
    <li>
      <ActionButton action={action} rollout={rollout} onChosen={close} />
      <span class="small muted">{a.reason}</span>
    </li>
  );
}

/** The row menu (a modal dialog: rows clip popovers); it follows the rollout's live state. */
export function RowMenuDialog() {
  const [key, setKey] = useState<string | null>(null);
  const rollout = useStore((s) => (key ? s.list.rollouts.get(key) ?? null : null));
  const fleet = useStore(isFleet);
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    openMenu = setKey;
    return () => {
      openMenu = null;
    };
  }, []);
  const open = key !== null && rollout !== null;
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  const close = () => setKey(null);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="menu-title" onClose={close}>
      {rollout ? (
        <>
          <h2 id="menu-title">
            Actions for {rollout.name}
            {fleet ? (
              <>
                {' '}
                in <strong>{rollout.cluster}</strong>
              </>
            ) : null}
          </h2>
          <ul class="menu-actions">
            {MENU.map((a) => (
              <MenuItem key={a} action={a} rollout={rollout} close={close} />
            ))}
          </ul>
          <div class="dialog-buttons">
            <button type="button" class="btn" onClick={close} autoFocus>
              Close
            </button>
          </div>
        </>
      ) : null}
    </dialog>
  );
}

const BAR: ActionName[] = ['promote', 'promote-full', 'pause', 'resume', 'abort', 'retry', 'restart'];

export function ActionBar({ rollout, steps, verdicts }: { rollout: RolloutSummary; steps?: readonly string[]; verdicts?: Record<string, ActionVerdict> }) {
  const readOnly = useStore((s) => s.readOnly);
  if (readOnly) return null;
  const main = mainAction(rollout);
  return (
    <div class="actions" role="toolbar" aria-label={`Actions for ${rollout.name}`}>
      {BAR.map((a) => (
        <ActionButton key={a} action={a} rollout={rollout} verdicts={verdicts} primary={a === main} {...(steps ? { steps } : {})} />
      ))}
    </div>
  );
}
