import type { ComponentChildren } from 'preact';

/** A titled panel of the detail page. */
export function Section({ title, id, children, count }: { title: string; id: string; children: ComponentChildren; count?: number }) {
  return (
    <section class="panel" aria-labelledby={`h-${id}`} id={id}>
      <h2 id={`h-${id}`}>
        {title}
        {count !== undefined ? <span class="count">{count}</span> : null}
      </h2>
      {children}
    </section>
  );
}
