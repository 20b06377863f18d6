// Path-based routes relative to the <base href>: `` (list) and `rollout/{ns}/{name}` (detail).

export type Route =
  | { page: 'list'; query: string }
  | { page: 'detail'; namespace: string; name: string; query: string }
  | { page: 'notFound'; path: string };

/** Parses a path relative to the base (no leading slash) and a query string. */
export function parseRoute(relPath: string, query: string): Route {
  const parts = relPath.split('/').filter((p) => p !== '');
  if (parts.length === 0) return { page: 'list', query };
  if (parts[0] === 'rollout' && parts.length === 3) {
    try {
      return { page: 'detail', namespace: decodeURIComponent(parts[1] ?? ''), name: decodeURIComponent(parts[2] ?? ''), query };
    } catch {
      return { page: 'notFound', path: relPath };
    }
  }
  return { page: 'notFound', path: relPath };
}

/** The relative href of a rollout's detail page. */
export function detailHref(namespace: string, name: string): string {
  return `rollout/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

/** The path of the current location relative to the base path (`/rollouts/x` → `x`). */
export function relativePath(pathname: string, basePathname: string): string {
  if (pathname.startsWith(basePathname)) return pathname.slice(basePathname.length);
  if (`${pathname}/` === basePathname) return '';
  return pathname.replace(/^\//, '');
}
