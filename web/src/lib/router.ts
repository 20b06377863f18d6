// Path-based routes relative to the <base href>: `` (list), `rollout/{cluster}/{ns}/{name}`
// (detail, protocol 5) and the older `rollout/{ns}/{name}`, which the app resolves once it
// knows the clusters ([`legacyTarget`]): the rollout with one cluster, else the list filtered
// to that namespace and name.

export type Route =
  | { page: 'list'; query: string }
  | { page: 'detail'; cluster: string; namespace: string; name: string; query: string }
  | { page: 'legacyDetail'; namespace: string; name: string; query: string }
  | { page: 'notFound'; path: string };

/** Parses a path relative to the base (no leading slash) and a query string. */
export function parseRoute(relPath: string, query: string): Route {
  const parts = relPath.split('/').filter((p) => p !== '');
  if (parts.length === 0) return { page: 'list', query };
  if (parts[0] === 'rollout' && (parts.length === 3 || parts.length === 4)) {
    try {
      const [a, b, c] = parts.slice(1).map((p) => decodeURIComponent(p));
      if (parts.length === 4) return { page: 'detail', cluster: a ?? '', namespace: b ?? '', name: c ?? '', query };
      return { page: 'legacyDetail', namespace: a ?? '', name: b ?? '', query };
    } catch {
      return { page: 'notFound', path: relPath };
    }
  }
  return { page: 'notFound', path: relPath };
}

/** The relative href of a rollout's detail page. */
export function detailHref(cluster: string, namespace: string, name: string): string {
  return `rollout/${encodeURIComponent(cluster)}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

/**
 * Where an old `rollout/{ns}/{name}` link leads once the clusters are known: the rollout in
 * the only cluster, or, with several, the list filtered to that namespace and exact name (it
 * may be in more than one of them). Null while the clusters are not known.
 */
export function legacyTarget(namespace: string, name: string, clusters: readonly string[]): string | null {
  if (clusters.length === 0) return null;
  if (clusters.length === 1) return detailHref(clusters[0] as string, namespace, name);
  const p = new URLSearchParams({ ns: namespace, q: `"${name}"` });
  return `./?${p.toString()}`;
}

/** The path of the current location relative to the base path (`/rollouts/x` → `x`). */
export function relativePath(pathname: string, basePathname: string): string {
  if (pathname.startsWith(basePathname)) return pathname.slice(basePathname.length);
  if (`${pathname}/` === basePathname) return '';
  return pathname.replace(/^\//, '');
}
