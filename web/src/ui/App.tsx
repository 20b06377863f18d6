import { useEffect, useRef, useState } from 'preact/hooks';
import { POLL_INTERVAL_MS, type Connection } from '../api/connection';
import { signOut } from '../api/session';
import { openDetail } from '../lib/detailState';
import { formatClock } from '../lib/format';
import { applyTheme, loadTheme, type Theme } from '../lib/prefs';
import { isFleet, store, useStore } from '../state/store';
import { ConfirmDialog, RowMenuDialog } from './actions';
import { DetailPage } from './detail/DetailPage';
import { focusSearch, ListPage } from './ListPage';
import { Link, navigate, useRoute } from './router';
import { Empty } from './common';
import { ClusterStrip, LegacyDetail } from './Clusters';

function ConnectionIndicator() {
  const conn = useStore((s) => s.conn);
  const polling = useStore((s) => s.polling && s.pollFresh);
  const text =
    conn === 'open' ? 'Live' :
    conn === 'paused' ? 'Paused (tab hidden)' :
    polling ? `Polling every ${POLL_INTERVAL_MS / 1000} s` :
    conn === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  const cls = conn === 'open' ? 'ok' : conn === 'reconnecting' && !polling ? 'bad' : 'run';
  const title = conn === 'open' ? 'Connected: changes appear as they happen' : polling ? 'Live updates are not available: the page asks the server for fresh data every few seconds' : text;
  return (
    <span class={`conn conn-${cls}`} role="status" aria-live="polite" title={title} data-conn={conn}>
      <span class="conn-dot" aria-hidden="true" />
      {text}
    </span>
  );
}

/** The stream is down: polled data keeps the page current, or nothing does. */
function StaleBanner() {
  const conn = useStore((s) => s.conn);
  const since = useStore((s) => s.disconnectedSince);
  const blocked = useStore((s) => s.liveBlocked);
  const pollFresh = useStore((s) => s.pollFresh);
  const polledAt = useStore((s) => s.polledAt);
  if (conn === 'open' || conn === 'paused') return null;
  if (blocked) {
    return (
      <div class="banner banner-blocked" role="alert">
        <strong>Live updates are blocked:</strong> the browser cannot keep a WebSocket open to the dashboard (<code>api/v1/stream</code>) although the
        server answers. This usually means an Ingress or load balancer without WebSocket upgrade support, or a corporate proxy that strips the{' '}
        <code>Upgrade</code> header.{' '}
        {pollFresh && polledAt !== null
          ? `Showing data polled every ${POLL_INTERVAL_MS / 1000} s instead (last at ${formatClock(polledAt)}).`
          : `Asking the REST API every ${POLL_INTERVAL_MS / 1000} s instead…`}
      </div>
    );
  }
  if (conn !== 'reconnecting' || since === null) return null;
  return (
    <div class="banner banner-stale" role="alert">
      {pollFresh && polledAt !== null
        ? `Live updates interrupted since ${formatClock(since)} — reconnecting; meanwhile the data is polled every ${POLL_INTERVAL_MS / 1000} s (last at ${formatClock(polledAt)}).`
        : `Not connected to the dashboard server since ${formatClock(since)} — reconnecting… What you see may be out of date. Actions are disabled until the connection is back.`}
    </div>
  );
}

/** The server speaks another stream protocol than this page (it was upgraded while the tab stayed open). */
function UpgradeBanner() {
  const mismatch = useStore((s) => s.protocolMismatch);
  if (!mismatch) return null;
  return (
    <div class="banner banner-stale" role="alert">
      The dashboard was upgraded while this page was open, and this page cannot follow its live changes.{' '}
      <button type="button" class="btn" onClick={() => location.reload()}>
        Reload
      </button>
    </div>
  );
}

function Badges() {
  const source = useStore((s) => s.config.source);
  const demo = useStore((s) => s.demo);
  const readOnly = useStore((s) => s.readOnly);
  const fleet = useStore(isFleet);
  return (
    <span class="badges">
      {demo || source === 'demo' ? <span class="pill pill-demo" title="Nothing here is a real cluster">{fleet ? 'DEMO — simulated clusters' : 'DEMO — simulated cluster'}</span> : null}
      {source === 'files' ? <span class="pill pill-files" title="Objects were read from files at start-up; nothing changes">Offline snapshot (files)</span> : null}
      {readOnly ? <span class="pill pill-ro" title="Actions are disabled on this dashboard">Read-only</span> : null}
    </span>
  );
}

/** The signed-in person (proxy and token modes) and, in token mode, Sign out. */
function UserBadge() {
  const who = useStore((s) => s.whoami);
  const [busy, setBusy] = useState(false);
  if (!who || who.authMode === 'none') return null;
  const groups = who.groups.filter((g) => g !== 'system:authenticated');
  const expires = who.sessionExpiresInSeconds;
  const title = [
    `Signed in as ${who.user}`,
    groups.length > 0 ? `Groups: ${groups.join(', ')}` : '',
    expires !== null ? `Session ends at ${formatClock(Date.now() + expires * 1000)}` : '',
  ]
    .filter(Boolean)
    .join('\n');
  return (
    <span class="user">
      <span class="user-name" title={title} data-user>
        <span class="visually-hidden">Signed in as </span>
        {who.user}
      </span>
      {who.authMode === 'token' ? (
        <button
          type="button"
          class="btn btn-small"
          disabled={busy}
          aria-busy={busy}
          onClick={async () => {
            setBusy(true);
            const err = await signOut();
            if (err !== null) {
              setBusy(false);
              store().toast('error', err);
            }
          }}
        >
          Sign out
        </button>
      ) : null}
    </span>
  );
}

function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(loadTheme);
  const next: Record<Theme, Theme> = { auto: 'dark', dark: 'light', light: 'auto' };
  const label: Record<Theme, string> = { auto: 'Theme: system', dark: 'Theme: dark', light: 'Theme: light' };
  useEffect(() => applyTheme(theme), [theme]);
  useEffect(() => {
    const onKey = () => setTheme((t) => next[t]);
    document.addEventListener('rd-toggle-theme', onKey);
    return () => document.removeEventListener('rd-toggle-theme', onKey);
  }, []);
  return (
    <button type="button" class="btn btn-small" onClick={() => setTheme(next[theme])} title="Switch theme (t)" aria-label={`${label[theme]}. Click to change.`}>
      {theme === 'dark' ? '☾' : theme === 'light' ? '☀' : '◐'} <span class="hide-narrow">{label[theme].replace('Theme: ', '')}</span>
    </button>
  );
}

const SHORTCUTS: [string, string][] = [
  ['/', 'Search rollouts'],
  ['j / ↓', 'Next rollout'],
  ['k / ↑', 'Previous rollout'],
  ['Enter', 'Open the selected rollout'],
  ['f', 'Favorite / unfavorite the selected rollout'],
  ['v', 'Switch table / cards'],
  ['Esc', 'Close, clear the selection, or go back to the list'],
  ['t', 'Switch theme'],
  ['?', 'This help'],
];

function Help({ open, onClose }: { open: boolean; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="help-title" onClose={onClose}>
      <h2 id="help-title">Keyboard shortcuts</h2>
      <table class="shortcuts">
        <tbody>
          {SHORTCUTS.map(([k, d]) => (
            <tr key={k}>
              <th scope="row">
                <kbd>{k}</kbd>
              </th>
              <td>{d}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="small muted">
        Search syntax: comma-separated terms; <code>key:value</code> (label contains), <code>key:"value"</code> (label equals), <code>"name"</code> (exact name), <code>!term</code> (exclude); a cluster's whole name matches its rollouts, and <code>cluster/namespace/name</code> works with a slash.
      </p>
      <div class="dialog-buttons">
        <button type="button" class="btn" onClick={onClose} autoFocus>
          Close
        </button>
      </div>
    </dialog>
  );
}

function Toasts() {
  const toasts = useStore((s) => s.toasts);
  return (
    <div class="toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`}>
          <span>{t.text}</span>
          <button type="button" class="btn btn-small" aria-label="Dismiss" onClick={() => store().dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

export function App({ connection }: { connection: Connection }) {
  const route = useRoute();
  const version = useStore((s) => s.serverVersion ?? s.config.version);
  const commit = useStore((s) => s.serverCommit);
  const [help, setHelp] = useState(false);

  // One subscription per page: the list (all namespaces; filtering is client-side) or one rollout.
  // An old detail link waits on the list (it becomes the list or a detail page).
  const subKey = route.page === 'detail' ? `d:${route.cluster}/${route.namespace}/${route.name}` : route.page === 'legacyDetail' ? 'list' : route.page;
  useEffect(() => {
    if (route.page === 'detail') {
      const { cluster, namespace, name } = route;
      const cur = store().state.detail;
      if (!cur || cur.cluster !== cluster || cur.namespace !== namespace || cur.name !== name) {
        store().set({ detail: openDetail(cluster, namespace, name) });
      }
      connection.subscribe({ type: 'subscribeRollout', cluster, namespace, name });
    } else {
      connection.subscribe({ type: 'subscribeList', namespaces: [], clusters: [] });
    }
  }, [subKey]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
      if (document.querySelector('dialog[open]')) return;
      if (e.key === '?') {
        e.preventDefault();
        setHelp(true);
      } else if (e.key === '/') {
        e.preventDefault();
        // On the list, focus now so that the keys typed right after '/' land in the field.
        if (route.page === 'list') focusSearch();
        else {
          navigate('');
          setTimeout(focusSearch, 0);
        }
      } else if (e.key === 't') {
        document.dispatchEvent(new Event('rd-toggle-theme'));
      } else if (e.key === 'Escape' && route.page === 'detail') {
        navigate('');
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [route.page]);

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link href="" class="brand" aria-label="Rollouts dashboard home">
          <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true">
            <path d="M3 17c3-8 6-8 9-4s6 4 9-4" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" />
          </svg>
          <span>Rollouts</span>
        </Link>
        <span class="version small muted" title="rollouts-dashboard version and the commit it was built from">
          v{version}
          {commit ? ` (${commit})` : ''}
        </span>
        <Badges />
        <span class="spacer" />
        <ConnectionIndicator />
        <UserBadge />
        <ThemeToggle />
        <button type="button" class="btn btn-small" onClick={() => setHelp(true)} aria-label="Keyboard shortcuts (?)" title="Keyboard shortcuts (?)">
          ?
        </button>
      </header>
      <StaleBanner />
      <UpgradeBanner />
      <ClusterStrip />
      {route.page === 'list' ? <ListPage query={route.query} /> : null}
      {route.page === 'detail' ? (
        <DetailPage key={`${route.cluster}/${route.namespace}/${route.name}`} cluster={route.cluster} namespace={route.namespace} name={route.name} />
      ) : null}
      {route.page === 'legacyDetail' ? <LegacyDetail key={`${route.namespace}/${route.name}`} namespace={route.namespace} name={route.name} /> : null}
      {route.page === 'notFound' ? (
        <main id="main" class="page">
          <Empty title="Page not found">
            <p>
              <Link href="">Go to all rollouts</Link>
            </p>
          </Empty>
        </main>
      ) : null}
      <Help open={help} onClose={() => setHelp(false)} />
      <ConfirmDialog />
      <RowMenuDialog />
      <Toasts />
    </>
  );
}
