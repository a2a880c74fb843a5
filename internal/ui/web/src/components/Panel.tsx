// Panel frames one part of a page. A failing query or a rendering error
// shows on the panel alone; the rest of the page keeps working.
import { Component, type ComponentChildren } from 'preact';

/** Props of Panel. */
export interface PanelProps {
  title?: ComponentChildren;
  actions?: ComponentChildren;
  loading?: boolean;
  error?: Error;
  /** Shown when there is nothing to draw and no error. */
  empty?: string | false;
  class?: string;
  testId?: string;
  children?: ComponentChildren;
}

/** Panel shows a titled card with its loading, error and empty states. */
export function Panel(p: PanelProps) {
  return (
    <section class={`panel ${p.class ?? ''}`} data-testid={p.testId}>
      {(p.title || p.actions) && (
        <header>
          <h2>{p.title}</h2>
          {p.loading && <span class="spinner" aria-label="loading" />}
          <div class="actions">{p.actions}</div>
        </header>
      )}
      <Boundary>
        {p.error ? (
          <div class="error" role="alert">
            {p.error.message}
          </div>
        ) : p.empty && !p.loading ? (
          <div class="empty">{p.empty}</div>
        ) : (
          p.children
        )}
      </Boundary>
    </section>
  );
}

/** Boundary turns a rendering error of its children into a message. */
export class Boundary extends Component<{ children?: ComponentChildren }, { error?: Error }> {
  state: { error?: Error } = {};
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  render() {
    if (this.state.error) {
      return (
        <div class="error" role="alert">
          This panel failed to draw: {this.state.error.message}
        </div>
      );
    }
    return this.props.children;
  }
}
