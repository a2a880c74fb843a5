// Link navigates inside the app without a page load, keeping the global
// time range and filters.
import type { ComponentChildren } from 'preact';
import { href as build, navigate } from '../router';

/** Props of Link: a path and its own query parameters. */
export interface LinkProps {
  to: string;
  params?: Record<string, string | number | undefined>;
  class?: string;
  title?: string;
  testId?: string;
  children?: ComponentChildren;
}

/** Link renders an anchor whose plain click stays in the app. */
export function Link(p: LinkProps) {
  const h = build(p.to, p.params);
  return (
    <a
      href={h}
      class={p.class}
      title={p.title}
      data-testid={p.testId}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(h);
      }}
    >
      {p.children}
    </a>
  );
}
