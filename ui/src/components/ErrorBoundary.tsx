import { Component, type ErrorInfo, type ReactNode } from 'react';

/** A part of the page that fails shows its error instead of taking the whole page down. */
export class ErrorBoundary extends Component<{ children: ReactNode; what?: string }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error(error, info.componentStack);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="card" role="alert">
        <p className="error">
          {this.props.what ?? 'This part of the page'} failed: {this.state.error.message}
        </p>
        <button type="button" onClick={() => this.setState({ error: null })}>
          Try again
        </button>
      </div>
    );
  }
}
