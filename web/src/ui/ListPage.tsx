import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { memo } from 'preact/compat';
import type { JSX } from 'preact';
import { keyOf, splitKey, type RolloutSummary } from '../api/protocol';
import { HeldList, ListIndex } from '../lib/listIndex';
import type { ListState } from '../lib/listState';
import { filterFromQuery, filterToQuery, STATUSES, type ListFilter, type ListGroups, type SortKey } from '../lib/listView';
import { mainAction } from '../lib/actionRules';
import { byRole, failingMetric, shortWhy } from '../lib/failure';
import { currentStepNumber, restateSteps } from '../lib/steps';
import { loadFavorites, saveFavorites } from '../lib/prefs';
import { detailHref } from '../lib/router';
import { clustersOf, factsOf, isFleet, useStore } from '../state/store';
import { migrateFavorites } from '../lib/clusters';
import { ActionButton, RowMenuButton } from './actions';
import { Countdown, Empty, ImageTags, PodSquares, StatusBadge, StatusIcon, WeightBar, useNow, useOffline } from './common';
import { describeWaiting, shortWaiting, waitingSince } from '../lib/waiting';
import { formatAbsolute } from '../lib/format';
import { Link, navigate, replaceQuery } from './router';
import { ProblemPanel } from './states';

type Item =
  | { kind: 'header'; key: string; label: string; count: number; hint?: string }
  | { kind: 'row'; key: string; r: RolloutSummary; index: number }
  | { kind: 'cards'; key: string; rs: { r: RolloutSummary; index: number }[] };

const ROW_H = 68;
const HEADER_H = 40;
const CARD_H = 216;
const OVERSCAN_PX = 600;

function itemHeight(i: Item): number {
  return i.kind === 'header' ? HEADER_H : i.kind === 'row' ? ROW_H : CARD_H;
}

/** A group of the list: its header item, then one item per row (or per row of cards). */
interface Section {
  label: string;
  hint?: string;
  rs: RolloutSummary[];
  /** Index of its header among all items. */
  first: number;
  /** Its header's offset (px). */
  top: number;
  /** Index of its first rollout in the whole list (attention first, then the rest). */
  rowBase: number;
  /** Items after the header. */
  n: number;
}

/**
 * The list's items (group headers, rows or rows of cards) as arithmetic over the group sizes:
 * only the items on screen are ever built, so a live update costs what is shown, not one
 * object per rollout (10,000 of them).
 */
class Layout {
  readonly sections: Section[] = [];
  readonly length: number;
  readonly total: number;
  /** Rollouts shown. */
  readonly rows: number;
  private readonly bodyH: number;

  constructor(groups: Pick<ListGroups, 'attention' | 'rest'>, private readonly view: 'table' | 'cards', private readonly cols: number) {
    this.bodyH = view === 'table' ? ROW_H : CARD_H;
    const per = view === 'table' ? 1 : cols;
    let first = 0;
    let top = 0;
    let rowBase = 0;
    const add = (label: string, rs: RolloutSummary[], hint?: string) => {
      if (rs.length === 0) return;
      const n = Math.ceil(rs.length / per);
      this.sections.push({ label, rs, first, top, rowBase, n, ...(hint ? { hint } : {}) });
      first += 1 + n;
      top += HEADER_H + n * this.bodyH;
      rowBase += rs.length;
    };
    add('Needs attention', groups.attention, 'paused for a human, degraded, or failing analysis');
    add(groups.attention.length > 0 ? 'Everything else' : 'Rollouts', groups.rest);
    this.length = first;
    this.total = top;
    this.rows = rowBase;
  }

  private sectionOf(i: number): Section | undefined {
    return this.sections.find((s) => i >= s.first && i <= s.first + s.n);
  }

  /** The item at `i` (0 ≤ i < length). */
  at(i: number): Item {
    const s = this.sectionOf(i) as Section;
    if (i === s.first) return { kind: 'header', key: `h-${s.label}`, label: s.label, count: s.rs.length, ...(s.hint ? { hint: s.hint } : {}) };
    const j = i - s.first - 1;
    if (this.view === 'table') {
      const r = s.rs[j] as RolloutSummary;
      return { kind: 'row', key: keyOf(r), r, index: s.rowBase + j };
    }
    const from = j * this.cols;
    const rs = s.rs.slice(from, from + this.cols).map((r, m) => ({ r, index: s.rowBase + from + m }));
    return { kind: 'cards', key: `c-${s.label}-${from}`, rs };
  }

  /** The offset (px) of item `i`; `length` gives the total height. */
  offset(i: number): number {
    const s = this.sectionOf(i);
    if (!s) return this.total;
    return i === s.first ? s.top : s.top + HEADER_H + (i - s.first - 1) * this.bodyH;
  }

  /** The first item that ends below `y` (px), or `length`. */
  firstEndingAfter(y: number): number {
    for (const s of this.sections) {
      if (y < s.top + HEADER_H) return s.first;
      const j = Math.floor((y - s.top - HEADER_H) / this.bodyH);
      if (j < s.n) return s.first + 1 + j;
    }
    return this.length;
  }

  /** The rollout at `index` in the whole list. */
  rowAt(index: number): RolloutSummary | undefined {
    const s = this.sections.find((x) => index >= x.rowBase && index < x.rowBase + x.rs.length);
    return s?.rs[index - s.rowBase];
  }

  /** The item that shows the rollout at `index`, or -1. */
  itemOfRow(index: number): number {
    const s = this.sections.find((x) => index >= x.rowBase && index < x.rowBase + x.rs.length);
    if (!s) return -1;
    return s.first + 1 + Math.floor((index - s.rowBase) / (this.view === 'table' ? 1 : this.cols));
  }

  /** Where the rollout `key` is in the whole list, or -1 (a scan without building a key per row). */
  indexOfKey(key: string): number {
    const id = splitKey(key);
    if (id === null) return -1;
    const { cluster, namespace, name } = id;
    for (const s of this.sections) {
      const j = s.rs.findIndex((r) => r.name === name && r.namespace === namespace && r.cluster === cluster);
      if (j >= 0) return s.rowBase + j;
    }
    return -1;
  }
}

/** Window-scroll virtualization over the layout's items. */
function useWindowing(layout: Layout, container: { current: HTMLElement | null }) {
  const [view, setView] = useState({ top: 0, height: 800 });
  useEffect(() => {
    let raf = 0;
    const measure = () => {
      raf = 0;
      const el = container.current;
      const rectTop = el ? el.getBoundingClientRect().top : 0;
      setView((v) => {
        const top = -rectTop;
        const height = window.innerHeight;
        return Math.abs(v.top - top) < 1 && v.height === height ? v : { top, height };
      });
    };
    const onScroll = () => {
      if (!raf) raf = requestAnimationFrame(measure);
    };
    measure();
    window.addEventListener('scroll', onScroll, { passive: true });
    window.addEventListener('resize', onScroll);
    return () => {
      window.removeEventListener('scroll', onScroll);
      window.removeEventListener('resize', onScroll);
      if (raf) cancelAnimationFrame(raf);
    };
  }, [container]);
  const lo = view.top - OVERSCAN_PX;
  const hi = view.top + view.height + OVERSCAN_PX;
  const start = layout.firstEndingAfter(lo);
  let end = start;
  while (end < layout.length && layout.offset(end) < hi) end++;
  return { total: layout.total, start, end };
}

function useColumns(container: { current: HTMLElement | null }, enabled: boolean): number {
  const [cols, setCols] = useState(3);
  useLayoutEffect(() => {
    if (!enabled) return;
    const measure = () => {
      const w = container.current?.clientWidth ?? window.innerWidth;
      setCols(Math.max(1, Math.floor((w + 12) / 332)));
    };
    measure();
    window.addEventListener('resize', measure);
    return () => window.removeEventListener('resize', measure);
  }, [enabled, container]);
  return cols;
}

/** A multiple choice of namespaces or clusters (none chosen: all), in a drop-down. */
function Picker({
  what,
  tag,
  all,
  selected,
  onChange,
  sortChosen = true,
}: {
  /** Plural noun: `namespaces`, `clusters`. */
  what: string;
  /** The short tag before the choice: `NS`, `Cluster`. */
  tag: string;
  all: readonly string[];
  selected: string[];
  onChange: (chosen: string[]) => void;
  /** Keep the chosen ones sorted (namespaces); clusters keep the server's display order. */
  sortChosen?: boolean;
}) {
  const label = selected.length === 0 ? `All ${what}` : selected.length === 1 ? selected[0] : `${selected.length} ${what}`;
  const title = what.charAt(0).toUpperCase() + what.slice(1);
  return (
    <details class="ns-picker" data-picker={what}>
      <summary class="btn">
        <span class="visually-hidden">{title}:</span>
        <span class="muted small" aria-hidden="true">{tag}</span> {label}
      </summary>
      <div class="ns-menu" role="group" aria-label={title}>
        <label class="ns-option">
          <input type="checkbox" checked={selected.length === 0} onChange={() => onChange([])} /> All {what}
        </label>
        {all.map((ns) => (
          <label key={ns} class="ns-option">
            <input
              type="checkbox"
              checked={selected.includes(ns)}
              onChange={(e) => {
                const on = (e.currentTarget as HTMLInputElement).checked;
                const chosen = on ? [...selected, ns] : selected.filter((x) => x !== ns);
                onChange(on ? (sortChosen ? chosen.sort() : all.filter((x) => chosen.includes(x))) : chosen);
              }}
            />{' '}
            {ns}
          </label>
        ))}
      </div>
    </details>
  );
}

function FavStar({ on, name, toggle }: { on: boolean; name: string; toggle: () => void }) {
  return (
    <button
      type="button"
      class={`star${on ? ' star-on' : ''}`}
      aria-pressed={on}
      aria-label={on ? `Remove ${name} from favorites` : `Add ${name} to favorites`}
      title={on ? 'Favorite (click to remove)' : 'Add to favorites'}
      onClick={(e) => {
        e.preventDefault();
        e.stopPropagation();
        toggle();
      }}
    >
      {on ? '★' : '☆'}
    </button>
  );
}

function stepText(r: RolloutSummary): string {
  if (r.strategy === 'Canary' && r.stepCount > 0) return r.step ?? `–/${r.stepCount}`;
  return '—';
}

/** The list keeps upstream's figure (steps done / steps, as kubectl shows it) and says what it means. */
function stepTitle(r: RolloutSummary): string | undefined {
  if (r.strategy !== 'Canary' || r.stepCount === 0) return undefined;
  const cur = currentStepNumber(r.stepIndex, r.stepCount);
  const done = `${r.step ?? '–'}: ${r.stepIndex ?? '–'} of ${r.stepCount} steps done (status.currentStepIndex)`;
  return cur !== null ? `${done}; at step ${cur} of ${r.stepCount} on the detail page's timeline` : done;
}

/** Images and the pods of their ReplicaSets in the same order: stable first, then canary/preview. */
function orderedImages(r: RolloutSummary) {
  return byRole(r.images, (i) => i.tags);
}
function orderedReplicaSets(r: RolloutSummary) {
  return byRole(r.replicaSets, (rs) => rs.roles);
}

/** The row's main action: Resume for a person's pause, Promote for another pause. */
function PromoteCell({ r, readOnly }: { r: RolloutSummary; readOnly: boolean }) {
  if (readOnly || !(r.status === 'Paused' && !r.aborted)) return null;
  const main = mainAction(r);
  return <ActionButton action={main} rollout={r} small primary />;
}

/** Ready of desired replicas, as `kubectl argo rollouts list` shows them. */
function ReadyCount({ r }: { r: RolloutSummary }) {
  const short = r.replicas.ready < r.replicas.desired;
  return (
    <span class={`ready-count small${short ? ' attention-text' : ' muted'}`} title={`${r.replicas.ready} ready of ${r.replicas.desired} desired replicas (${r.replicas.available} available)`}>
      {r.replicas.ready}/{r.replicas.desired} ready
    </span>
  );
}

function StatusLine({ r }: { r: RolloutSummary }) {
  if (r.pauseKind === 'timed' && r.pauseUntil) return <Countdown label="Paused until" until={r.pauseUntil} done="resuming" />;
  let text = r.attentionReason ?? (r.reason || r.message);
  // A failed analysis: the metric's name first, where the row has room for it.
  const failed = r.aborted || r.status === 'Degraded' ? failingMetric(text) ?? failingMetric(r.message) : null;
  if (failed) {
    return (
      <span>
        {r.aborted ? 'Aborted' : r.status} · metric <strong class="mono">{failed.metric}</strong> {failed.phase.toLowerCase()}
        {failed.why ? ` (${shortWhy(failed.why)})` : ''}
      </span>
    );
  }
  text = restateSteps(text);
  if (text.startsWith(`${r.status}: `)) text = text.slice(r.status.length + 2);
  return <span>{text.charAt(0).toUpperCase() + text.slice(1)}</span>;
}

/** "waiting 4m 12s" for a rollout that waits (paused or Degraded), ticking; nothing otherwise. */
function WaitingTag({ r }: { r: RolloutSummary }) {
  const w = waitingSince(r);
  // Seconds show only under an hour: tick each second until then, each half minute after.
  const now = Math.max(useNow(w !== null && Date.now() - w.since < 3_600_000 ? 1000 : 30_000), Date.now());
  if (w === null) return null;
  const long = describeWaiting(w, now);
  return (
    <span class="waiting-tag small" title={`${long.charAt(0).toUpperCase() + long.slice(1)}, since ${formatAbsolute(w.since)}`}>
      {shortWaiting(w, now)}
    </span>
  );
}

/** "stale since 12:03:04" on a row of a cluster that is not synced any more. */
function StaleTag({ text }: { text: string | null }) {
  if (text === null) return null;
  return (
    <span class="stale-tag small" title={`Its cluster is not synced: this is the last known state (${text}). Actions are disabled.`}>
      {text}
    </span>
  );
}

function Row({
  r,
  fav,
  toggleFav,
  selected,
  index,
  readOnly,
  fleet,
  stale,
}: {
  r: RolloutSummary;
  fav: boolean;
  toggleFav: (key: string) => void;
  selected: boolean;
  index: number;
  readOnly: boolean;
  /** Several clusters: the row has a cluster cell. */
  fleet: boolean;
  /** "stale since …" when its cluster is not synced. */
  stale: string | null;
}) {
  const href = detailHref(r.cluster, r.namespace, r.name);
  const key = keyOf(r);
  return (
    <div
      class={`row${selected ? ' row-selected' : ''}${r.needsAttention ? ' row-attention' : ''}${stale !== null ? ' row-stale' : ''}`}
      role="row"
      aria-rowindex={index + 2}
      aria-selected={selected}
      data-key={key}
      data-cluster={r.cluster}
    >
      <div role="cell" class="c-fav">
        <FavStar on={fav} name={r.name} toggle={() => toggleFav(key)} />
      </div>
      {fleet ? (
        <div role="cell" class="c-cluster small" title={`Cluster ${r.cluster}`}>
          {r.cluster}
        </div>
      ) : null}
      <div role="cell" class="c-name">
        <Link href={href} class="rname" data-rollout={r.name}>
          {r.name}
        </Link>
        <span class="ns">
          {r.namespace} <StaleTag text={stale} />
        </span>
      </div>
      <div role="cell" class="c-status">
        <StatusBadge status={r.status} title={r.message || undefined} />
        <span class="status-line small" title={r.message}>
          <StatusLine r={r} />
        </span>
        <WaitingTag r={r} />
      </div>
      <div role="cell" class="c-strategy small">{r.strategy || '—'}</div>
      <div role="cell" class="c-step" title={stepTitle(r)}>
        {stepText(r)}
      </div>
      <div role="cell" class="c-weight">
        <WeightBar set={r.setWeight} actual={r.actualWeight} compact />
      </div>
      <div role="cell" class="c-images">
        <ImageTags images={orderedImages(r)} compact />
      </div>
      <div role="cell" class="c-pods">
        <ReadyCount r={r} />
        {orderedReplicaSets(r)
          .filter((rs) => rs.pods.length > 0 || rs.roles.length > 0)
          .slice(0, 3)
          .map((rs) => (
            <span class="rs-pods" key={rs.name} title={`${rs.name} · revision ${rs.revision} · ${rs.status}${rs.roles.length ? ` · ${rs.roles.join(', ')}` : ''}`}>
              <span class="small muted">r{rs.revision}</span>
              <PodSquares pods={rs.pods} max={12} />
            </span>
          ))}
      </div>
      <div role="cell" class="c-act">
        <PromoteCell r={r} readOnly={readOnly} />
        <RowMenuButton rollout={r} />
      </div>
    </div>
  );
}

/**
 * A row re-renders only when its own props change (its rollout's copy, favorite, selection):
 * a live update re-renders the rows it changed, not every row on screen.
 */
const MemoRow = memo(Row);

function Card({
  r,
  fav,
  toggleFav,
  selected,
  readOnly,
  fleet,
  stale,
}: {
  r: RolloutSummary;
  fav: boolean;
  toggleFav: () => void;
  selected: boolean;
  readOnly: boolean;
  fleet: boolean;
  stale: string | null;
}) {
  return (
    <article
      class={`card${selected ? ' row-selected' : ''}${r.needsAttention ? ' row-attention' : ''}${stale !== null ? ' row-stale' : ''} st-border-${r.status}`}
      aria-label={fleet ? `${r.cluster}/${r.namespace}/${r.name}` : `${r.namespace}/${r.name}`}
      data-key={keyOf(r)}
      data-cluster={r.cluster}
    >
      <header class="card-head">
        <StatusIcon status={r.status} size={18} />
        <Link href={detailHref(r.cluster, r.namespace, r.name)} class="rname" data-rollout={r.name}>
          {r.name}
        </Link>
        <FavStar on={fav} name={r.name} toggle={toggleFav} />
      </header>
      <div class="ns small">
        {fleet ? <span class="card-cluster">{r.cluster} · </span> : null}
        {r.namespace} <StaleTag text={stale} />
      </div>
      <div class="card-status small">
        <strong>{r.status}</strong> · <StatusLine r={r} /> <WaitingTag r={r} />
      </div>
      <dl class="card-facts small">
        <div>
          <dt>Strategy</dt>
          <dd>{r.strategy || '—'}</dd>
        </div>
        <div>
          <dt>Step</dt>
          <dd title={stepTitle(r)}>{stepText(r)}</dd>
        </div>
        <div class="grow">
          <dt>Weight</dt>
          <dd>
            <WeightBar set={r.setWeight} actual={r.actualWeight} compact />
          </dd>
        </div>
      </dl>
      <ImageTags images={orderedImages(r)} compact />
      <div class="card-pods">
        <ReadyCount r={r} />
        {orderedReplicaSets(r)
          .filter((rs) => rs.pods.length > 0)
          .slice(0, 3)
          .map((rs) => (
            <span class="rs-pods" key={rs.name} title={`${rs.name} · revision ${rs.revision}${rs.roles.length ? ` · ${rs.roles.join(', ')}` : ''}`}>
              <span class="small muted">r{rs.revision}</span>
              <PodSquares pods={rs.pods} max={16} />
            </span>
          ))}
        <PromoteCell r={r} readOnly={readOnly} />
        <RowMenuButton rollout={r} />
      </div>
    </article>
  );
}

/** Phones get cards by default: the table has room for little more than name and status there. */
const NARROW = '(max-width: 720px)';

function useNarrow(): boolean {
  const [narrow, setNarrow] = useState(() => window.matchMedia(NARROW).matches);
  useEffect(() => {
    const mq = window.matchMedia(NARROW);
    const on = () => setNarrow(mq.matches);
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);
  return narrow;
}

/** The view asked for in the URL (`?view=cards|table`), or null for the device's default. */
function viewParam(search: string): 'cards' | 'table' | null {
  const v = new URLSearchParams(search).get('view');
  return v === 'cards' || v === 'table' ? v : null;
}

/** A column header that sorts the list by its column (again: back to attention first). */
function SortHeader({ cls, label, sort, filter, update }: { cls: string; label: string; sort: SortKey; filter: ListFilter; update: (p: Partial<ListFilter>) => void }) {
  const on = filter.sort === sort;
  return (
    <div role="columnheader" class={cls} aria-sort={on ? 'ascending' : 'none'}>
      <button type="button" class={`th-sort${on ? ' th-sort-on' : ''}`} onClick={() => update({ sort: on ? 'attention' : sort })} title={on ? 'Sorted by this column; click for attention first' : `Sort by ${label.toLowerCase()}`}>
        {label} <span aria-hidden="true">{on ? '▲' : '↕'}</span>
      </button>
    </div>
  );
}

let searchInput: HTMLInputElement | null = null;
export function focusSearch(): void {
  searchInput?.focus();
  searchInput?.select();
}

export function ListPage({ query }: { query: string }) {
  const list = useStore((s) => s.list);
  const everHadSnapshot = useStore((s) => s.everHadSnapshot);
  const conn = useStore((s) => s.conn);
  const liveBlocked = useStore((s) => s.liveBlocked);
  const health = useStore((s) => s.health);
  const readOnly = useStore((s) => s.readOnly);
  const fleet = useStore(isFleet);
  const knownClusters = useStore(clustersOf);
  const staleOf = useStore((s) => factsOf(s).stale);
  const filter = useMemo(() => filterFromQuery(query), [query]);
  const narrow = useNarrow();
  const offline = useOffline();
  const view = viewParam(query) ?? (narrow ? 'cards' : 'table');
  const [favorites, setFavorites] = useState(loadFavorites);
  const [searchText, setSearchText] = useState(filter.search);
  const [selKey, setSelKey] = useState<string | null>(null);
  const container = useRef<HTMLDivElement>(null);
  const cols = useColumns(container, view === 'cards');

  useEffect(() => {
    if (document.activeElement !== searchInput) setSearchText(filter.search);
  }, [filter.search]);

  const update = useCallback(
    (patch: Partial<ListFilter>, newView?: string) => {
      const f = { ...filterFromQuery(location.search), ...patch };
      // A view chosen by hand is kept in the URL unless it is this device's default.
      const deflt = window.matchMedia(NARROW).matches ? 'cards' : 'table';
      const v = newView ?? viewParam(location.search);
      replaceQuery(filterToQuery(f, { view: v !== null && v !== deflt ? v : null }));
    },
    [],
  );

  // Debounce typing into the URL (and the filter).
  useEffect(() => {
    if (searchText === filter.search) return;
    const t = setTimeout(() => update({ search: searchText }), 120);
    return () => clearTimeout(t);
  }, [searchText]);

  // Favorites saved before clusters (`namespace/name`) become that rollout's in every cluster.
  useEffect(() => {
    const migrated = migrateFavorites(favorites, knownClusters);
    if (migrated) {
      saveFavorites(migrated);
      setFavorites(migrated);
    }
  }, [knownClusters]);

  const toggleFav = useCallback((key: string) => {
    setFavorites((prev) => {
      const next = new Set(prev);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      saveFavorites(next);
      return next;
    });
  }, []);

  // The groups follow the list's changes (ListIndex) instead of being recomputed from every rollout.
  const [index] = useState(() => new ListIndex());
  const fresh = useMemo(() => index.sync(list, filter, favorites), [list, filter, favorites]);
  const present = index.namespaces();
  const namespaces = useMemo(
    () => (filter.namespaces.every((ns) => present.includes(ns)) ? present : [...new Set([...present, ...filter.namespaces])].sort()),
    [present, filter.namespaces],
  );
  // The server's clusters in its order, then any others the list or the URL names.
  const presentClusters = index.clusters();
  const clusters = useMemo(() => {
    const extra = [...new Set([...presentClusters, ...filter.clusters])].filter((c) => !knownClusters.includes(c)).sort();
    return extra.length === 0 ? knownClusters : [...knownClusters, ...extra];
  }, [knownClusters, presentClusters, filter.clusters]);
  // While the pointer is over the list (and so between a click's press and release), rows keep
  // their places: live updates change their content, not their order. Leaving re-sorts.
  const [pointerIn, setPointerIn] = useState(false);
  // `shown`: what the last render showed; `hold`: the held order since the pointer came in.
  const shown = useRef<{ filter: ListFilter; favorites: ReadonlySet<string>; groups: ListGroups; list: ListState } | null>(null);
  const hold = useRef<HeldList | null>(null);
  const groups = useMemo(() => {
    const h = shown.current;
    if (!(pointerIn && h && h.filter === filter && h.favorites === favorites)) {
      hold.current = null;
      return fresh;
    }
    if (hold.current === null) hold.current = new HeldList(h.groups, h.list);
    return hold.current.follow(list, fresh, index);
  }, [fresh, pointerIn]);
  shown.current = { filter, favorites, groups, list };

  const layout = useMemo(() => new Layout(groups, view, cols), [groups, view, cols]);
  const win = useWindowing(layout, container);
  // The selection follows the rollout (by key), not the position, so live re-sorting keeps it.
  const selected = useMemo(() => (selKey === null ? -1 : layout.indexOfKey(selKey)), [layout, selKey]);
  const setSelected = useCallback(
    (f: (i: number) => number) => {
      const next = f(selected);
      const r = next >= 0 ? layout.rowAt(next) : undefined;
      setSelKey(r ? keyOf(r) : null);
    },
    [layout, selected],
  );

  // Keyboard: j/k or arrows move, Enter opens, f toggles favorite. One listener for the page's
  // life reads the latest render's values: a listener re-bound in an effect runs after paint, so
  // a key pressed right after a selection showed (j, then Enter) met the previous render's
  // handler and its old selection (a flaky browser test found it).
  const keys = useRef({ layout, selected, setSelected, view, cols, toggleFav, update });
  keys.current = { layout, selected, setSelected, view, cols, toggleFav, update };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const { layout, selected, setSelected, view, cols, toggleFav, update } = keys.current;
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) {
        if (e.key === 'ArrowDown' && t === searchInput) {
          e.preventDefault();
          searchInput?.blur();
          setSelected(() => 0);
        }
        return;
      }
      if (document.querySelector('dialog[open]')) return;
      const step = view === 'cards' && (e.key === 'ArrowDown' || e.key === 'ArrowUp') ? cols : 1;
      if (e.key === 'j' || e.key === 'ArrowDown' || (view === 'cards' && e.key === 'ArrowRight')) {
        e.preventDefault();
        setSelected((s) => Math.min(layout.rows - 1, s + step));
      } else if (e.key === 'k' || e.key === 'ArrowUp' || (view === 'cards' && e.key === 'ArrowLeft')) {
        e.preventDefault();
        setSelected((s) => Math.max(0, s - step));
      } else if (e.key === 'Enter' && selected >= 0) {
        const r = layout.rowAt(selected);
        if (r) {
          e.preventDefault();
          navigate(detailHref(r.cluster, r.namespace, r.name));
        }
      } else if (e.key === 'f' && selected >= 0) {
        const r = layout.rowAt(selected);
        if (r) toggleFav(keyOf(r));
      } else if (e.key === 'v') {
        update({}, view === 'cards' ? 'table' : 'cards');
      } else if (e.key === 'Escape') {
        setSelKey(null);
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  // Keep the selected row in view.
  useEffect(() => {
    if (selected < 0) return;
    const idx = layout.itemOfRow(selected);
    const el = container.current;
    if (idx < 0 || !el) return;
    const top = el.getBoundingClientRect().top + window.scrollY + layout.offset(idx);
    const bottom = top + itemHeight(layout.at(idx));
    const headerH = 120;
    if (top < window.scrollY + headerH) window.scrollTo(0, top - headerH);
    else if (bottom > window.scrollY + window.innerHeight) window.scrollTo(0, bottom - window.innerHeight + 8);
  }, [selKey]);

  const problem = health?.problem ?? null;
  // Before the first data, a count is unknown, not 0.
  const known = (n: number) => (everHadSnapshot ? n : '–');
  const selectedKey = selected >= 0 ? selKey : null;

  const toolbar = (
    <div class="toolbar" role="search">
      {fleet || filter.clusters.length > 0 ? (
        <Picker what="clusters" tag="Cluster" all={clusters} selected={filter.clusters} onChange={(cs) => update({ clusters: cs })} sortChosen={false} />
      ) : null}
      <Picker what="namespaces" tag="NS" all={namespaces} selected={filter.namespaces} onChange={(ns) => update({ namespaces: ns })} />
      <label class="search">
        <span class="visually-hidden">Search rollouts by name or label</span>
        <input
          ref={(el) => {
            searchInput = el;
          }}
          type="search"
          placeholder="Search: name, key:value, key:&quot;exact&quot;, !not   ( / )"
          value={searchText}
          onInput={(e) => setSearchText((e.currentTarget as HTMLInputElement).value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              setSearchText('');
              update({ search: '' });
              (e.currentTarget as HTMLInputElement).blur();
            }
          }}
          spellcheck={false}
          autocomplete="off"
        />
      </label>
      <div class="filters" role="group" aria-label="Status filters">
        <button type="button" class={`chip${filter.attentionOnly ? ' chip-on' : ''}`} aria-pressed={filter.attentionOnly} onClick={() => update({ attentionOnly: !filter.attentionOnly })}>
          Needs attention <span class="count">{known(groups.attentionCount)}</span>
        </button>
        {STATUSES.map((s) => {
          const on = filter.statuses.includes(s);
          return (
            <button key={s} type="button" class={`chip chip-${s}${on ? ' chip-on' : ''}`} aria-pressed={on} onClick={() => update({ statuses: on ? filter.statuses.filter((x) => x !== s) : [...filter.statuses, s] })}>
              <StatusIcon status={s} size={13} /> {s} <span class="count">{known(groups.counts[s] ?? 0)}</span>
            </button>
          );
        })}
        <button type="button" class={`chip${filter.favoritesOnly ? ' chip-on' : ''}`} aria-pressed={filter.favoritesOnly} onClick={() => update({ favoritesOnly: !filter.favoritesOnly })}>
          ★ Favorites <span class="count">{known(groups.favoritesCount)}</span>
        </button>
      </div>
      <div class="view-opts">
        <label class="small">
          Sort{' '}
          <select value={filter.sort} onChange={(e) => update({ sort: (e.currentTarget as HTMLSelectElement).value as SortKey })}>
            <option value="attention">Attention first</option>
            <option value="name">Name</option>
            <option value="namespace">Namespace</option>
            {fleet ? <option value="cluster">Cluster</option> : null}
            <option value="status">Status</option>
            <option value="updated">Newest</option>
          </select>
        </label>
        <div class="seg" role="group" aria-label="Display">
          <button type="button" class={`btn btn-small${view === 'table' ? ' seg-on' : ''}`} aria-pressed={view === 'table'} onClick={() => update({}, 'table')}>
            Table
          </button>
          <button type="button" class={`btn btn-small${view === 'cards' ? ' seg-on' : ''}`} aria-pressed={view === 'cards'} onClick={() => update({}, 'cards')}>
            Cards
          </button>
        </div>
      </div>
    </div>
  );

  let body: JSX.Element;
  if (!everHadSnapshot) {
    body = problem ? (
      <span />
    ) : conn === 'reconnecting' && !liveBlocked ? (
      <Empty title="Cannot reach the dashboard server">
        <p>The page keeps trying to connect. Check that rollouts-dashboard is running and reachable (port-forward, Ingress).</p>
      </Empty>
    ) : (
      <div class="loading" role="status" aria-live="polite">
        <span class="spinner" aria-hidden="true" /> Loading rollouts…
      </div>
    );
  } else if (list.rollouts.size === 0) {
    body = problem ? (
      <span />
    ) : (
      <Empty title="No rollouts">
        <p>
          {health?.namespaces.length ? `No Rollout objects in the watched namespaces (${health.namespaces.join(', ')}).` : 'No Rollout objects in any namespace the dashboard can see.'} Create one, for example:
        </p>
        <pre class="code">kubectl apply -f https://raw.githubusercontent.com/argoproj/argo-rollouts/master/docs/getting-started/basic/rollout.yaml</pre>
        <p class="small muted">New rollouts appear here immediately, without reloading.</p>
      </Empty>
    );
  } else if (layout.rows === 0) {
    body = (
      <Empty title="No rollouts match the filters">
        <p>
          {list.rollouts.size} rollouts are hidden by the current filters.{' '}
          <button type="button" class="btn btn-small" onClick={() => { setSearchText(''); replaceQuery(view === 'cards' ? '?view=cards' : ''); }}>
            Clear filters
          </button>
        </p>
      </Empty>
    );
  } else {
    const slice: Item[] = [];
    for (let i = win.start; i < win.end; i++) slice.push(layout.at(i));
    body = (
      <div
        ref={container}
        class={`vlist ${view === 'table' ? 'vtable' : 'vcards'}${fleet ? ' vfleet' : ''}`}
        role={view === 'table' ? 'table' : 'region'}
        aria-label="Rollouts"
        aria-rowcount={view === 'table' ? layout.rows + 1 : undefined}
        onPointerEnter={() => setPointerIn(true)}
        onPointerLeave={() => setPointerIn(false)}
        style={{ height: `${win.total + (view === 'table' ? 34 : 0)}px` }}
      >
        {view === 'table' ? (
          <div class="row row-head" role="row" aria-rowindex={1}>
            <div role="columnheader" class="c-fav"><span class="visually-hidden">Favorite</span></div>
            {fleet ? <SortHeader cls="c-cluster" label="Cluster" sort="cluster" filter={filter} update={update} /> : null}
            <SortHeader cls="c-name" label="Name" sort="name" filter={filter} update={update} />
            <SortHeader cls="c-status" label="Status" sort="status" filter={filter} update={update} />
            <div role="columnheader" class="c-strategy">Strategy</div>
            <div role="columnheader" class="c-step">Step</div>
            <div role="columnheader" class="c-weight">Weight</div>
            <div role="columnheader" class="c-images">Images</div>
            <div role="columnheader" class="c-pods">Pods</div>
            <div role="columnheader" class="c-act"><span class="visually-hidden">Actions</span></div>
          </div>
        ) : null}
        <div class="vwin" style={{ transform: `translateY(${layout.offset(win.start)}px)` }}>
          {slice.map((it) => {
            if (it.kind === 'header') {
              return (
                <div key={it.key} class={`group-head${it.label === 'Needs attention' ? ' group-attention' : ''}`} role={view === 'table' ? 'row' : undefined}>
                  <h2 role={view === 'table' ? 'cell' : undefined}>
                    {it.label} <span class="count">{it.count}</span>
                    {it.hint ? <span class="small muted"> · {it.hint}</span> : null}
                  </h2>
                </div>
              );
            }
            if (it.kind === 'row') {
              const k = keyOf(it.r);
              return (
                <MemoRow
                  key={k}
                  r={it.r}
                  index={it.index}
                  fav={favorites.has(k)}
                  toggleFav={toggleFav}
                  selected={k === selectedKey}
                  readOnly={readOnly}
                  fleet={fleet}
                  stale={staleOf.get(it.r.cluster) ?? null}
                />
              );
            }
            return (
              <div key={it.key} class="card-row" style={{ gridTemplateColumns: `repeat(${cols}, minmax(0, 1fr))` }}>
                {it.rs.map(({ r }) => {
                  const k = keyOf(r);
                  return (
                    <Card
                      key={k}
                      r={r}
                      fav={favorites.has(k)}
                      toggleFav={() => toggleFav(k)}
                      selected={k === selectedKey}
                      readOnly={readOnly}
                      fleet={fleet}
                      stale={staleOf.get(r.cluster) ?? null}
                    />
                  );
                })}
              </div>
            );
          })}
        </div>
      </div>
    );
  }

  return (
    <main id="main" class={`page page-list${offline !== null && everHadSnapshot ? ' is-stale' : ''}`} aria-labelledby="list-title">
      <h1 id="list-title" class="visually-hidden">Rollouts</h1>
      {problem ? <ProblemPanel problem={problem} /> : null}
      {toolbar}
      <p class="summary-line small muted" aria-live="polite">
        {everHadSnapshot ? `${layout.rows} of ${list.rollouts.size} rollouts shown` : ''}
        {filter.clusters.length > 0 ? ` · clusters: ${filter.clusters.join(', ')}` : ''}
        {filter.namespaces.length > 0 ? ` · namespaces: ${filter.namespaces.join(', ')}` : ''}
      </p>
      {body}
    </main>
  );
}
