import { useEffect, useState } from 'preact/hooks';
import type { ComponentChildren, JSX } from 'preact';
import { parseRoute, relativePath, type Route } from '../lib/router';

type Listener = () => void;
const listeners = new Set<Listener>();

function basePathname(): string {
  return new URL(document.baseURI).pathname;
}

export function currentRoute(): Route {
  return parseRoute(relativePath(location.pathname, basePathname()), location.search);
}

/** Navigates to a path relative to the base href (`rollout/ns/name`, `?q=x`, ``). */
export function navigate(relative: string, opts: { replace?: boolean } = {}): void {
  const url = new URL(relative === '' ? './' : relative, document.baseURI);
  if (url.href === location.href) return;
  if (opts.replace) history.replaceState(null, '', url.href);
  else history.pushState(null, '', url.href);
  for (const l of listeners) l();
  if (!opts.replace) window.scrollTo(0, 0);
}

/** Replaces only the query of the current URL. */
export function replaceQuery(query: string): void {
  const url = new URL(location.href);
  url.search = query;
  if (url.href !== location.href) {
    history.replaceState(null, '', url.href);
    for (const l of listeners) l();
  }
}

window.addEventListener('popstate', () => {
  for (const l of listeners) l();
});

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const l = () => setRoute(currentRoute());
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return route;
}

type LinkProps = Omit<JSX.HTMLAttributes<HTMLAnchorElement>, 'href'> & { href: string; children?: ComponentChildren };

/** An <a> with a base-relative href that navigates without reloading (plain clicks only). */
export function Link({ href, children, onClick, ...rest }: LinkProps) {
  return (
    <a
      {...rest}
      href={href === '' ? './' : href}
      onClick={(e: JSX.TargetedMouseEvent<HTMLAnchorElement>) => {
        if (onClick) (onClick as (e: JSX.TargetedMouseEvent<HTMLAnchorElement>) => void)(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}
