// Search syntax of the list (upstream-compatible, extended):
//   comma-separated terms; a rollout matches when it matches ANY positive term and NO negated term.
//   key:value      label `key` contains `value`      key:"value"  label equals `value`
//   "name"         exact name, `namespace/name` or `cluster/namespace/name`
//   !term          negation of any of these
//   anything else  substring of the name (case-insensitive), or the whole name of a cluster;
//                  with a slash, substring of `cluster/namespace/name` (so of `namespace/name`).
// A cluster matches only by its whole name: a substring would let `in` match every rollout of
// the `in-cluster` cluster and so make the search useless with one cluster.

export type SearchTerm =
  | { kind: 'name'; value: string; exact: boolean; negate: boolean }
  | { kind: 'label'; key: string; value: string; exact: boolean; negate: boolean };

function unquote(s: string): { value: string; exact: boolean } {
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) {
    return { value: s.slice(1, -1), exact: true };
  }
  return { value: s, exact: false };
}

/** Splits a search string into terms; empty terms are ignored. */
export function parseSearch(input: string): SearchTerm[] {
  const terms: SearchTerm[] = [];
  for (const part of input.split(',')) {
    let raw = part.trim();
    if (raw === '') continue;
    let negate = false;
    if (raw.startsWith('!')) {
      negate = true;
      raw = raw.slice(1).trim();
      if (raw === '') continue;
    }
    const colon = raw.indexOf(':');
    // A quoted name may contain a colon; a label key never starts with a quote.
    if (colon > 0 && !raw.startsWith('"')) {
      const key = raw.slice(0, colon).trim();
      const { value, exact } = unquote(raw.slice(colon + 1).trim());
      terms.push({ kind: 'label', key, value, exact, negate });
    } else {
      const { value, exact } = unquote(raw);
      terms.push({ kind: 'name', value, exact, negate });
    }
  }
  return terms;
}

export interface Searchable {
  cluster: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
}

function termMatches(term: SearchTerm, r: Searchable): boolean {
  if (term.kind === 'label') {
    const v = Object.prototype.hasOwnProperty.call(r.labels, term.key) ? r.labels[term.key] : undefined;
    if (v === undefined) return false;
    return term.exact ? v === term.value : v.toLowerCase().includes(term.value.toLowerCase());
  }
  if (term.exact) return r.name === term.value || `${r.namespace}/${r.name}` === term.value || `${r.cluster}/${r.namespace}/${r.name}` === term.value;
  const needle = term.value.toLowerCase();
  if (needle.includes('/')) return `${r.cluster}/${r.namespace}/${r.name}`.toLowerCase().includes(needle);
  return r.name.toLowerCase().includes(needle) || r.cluster.toLowerCase() === needle;
}

/** A predicate for the parsed terms; matches everything when there are none. */
export function searchMatcher(terms: readonly SearchTerm[]): (r: Searchable) => boolean {
  const positive = terms.filter((t) => !t.negate);
  const negative = terms.filter((t) => t.negate);
  if (positive.length === 0 && negative.length === 0) return () => true;
  return (r) => {
    if (negative.some((t) => termMatches(t, r))) return false;
    return positive.length === 0 || positive.some((t) => termMatches(t, r));
  };
}
