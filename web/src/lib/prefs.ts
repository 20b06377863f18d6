// Preferences in localStorage: favorites (`cluster/namespace/name` keys; older `namespace/name`
// ones are migrated once the clusters are known, see lib/clusters.ts), theme, list view mode.

const FAV_KEY = 'rolloutsDashboard.favorites';
const THEME_KEY = 'rolloutsDashboard.theme';

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // storage disabled: preferences last for this page only
  }
}

export function loadFavorites(): Set<string> {
  const raw = read(FAV_KEY);
  if (!raw) return new Set();
  try {
    const v: unknown = JSON.parse(raw);
    return new Set(Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  } catch {
    return new Set();
  }
}

export function saveFavorites(f: ReadonlySet<string>): void {
  write(FAV_KEY, JSON.stringify([...f].sort()));
}

export type Theme = 'auto' | 'light' | 'dark';

export function loadTheme(): Theme {
  const t = read(THEME_KEY);
  return t === 'light' || t === 'dark' ? t : 'auto';
}

export function applyTheme(t: Theme): void {
  write(THEME_KEY, t);
  if (t === 'auto') document.documentElement.removeAttribute('data-theme');
  else document.documentElement.setAttribute('data-theme', t);
}
