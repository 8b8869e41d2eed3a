// The one typed way a page talks to the extension: `acquireVsCodeApi` (callable once per page),
// typed by the page's messages and state, with the load handshake and uncaught errors built in.
import type { PageMessage } from './protocol';

interface VsCodeApi<Out, State> {
  postMessage(message: Out): void;
  getState(): State | undefined;
  setState(state: State): void;
}

declare function acquireVsCodeApi<Out, State>(): VsCodeApi<Out, State>;

export interface Page<Out, In, State> {
  post(message: Out): void;
  /** What the page kept before it was reloaded (hidden and shown again, or the editor restarted). */
  state(): State | undefined;
  keep(state: State): void;
  /** Listen to the extension, then tell it the page is loaded (it sends the first content then). */
  start(onMessage: (message: In) => void): void;
}

/** Connect this page: once per page, before anything posts. */
export function connectPage<Out, In extends { type: string }, State>(): Page<Out, In, State> {
  const api = acquireVsCodeApi<Out | PageMessage, State>();
  const reportError = (message: string, stack?: string) =>
    api.postMessage({ type: 'unhandledError', message, ...(stack ? { stack } : {}) });
  window.addEventListener('error', (e) => reportError(e.message, (e.error as Error | undefined)?.stack));
  window.addEventListener('unhandledrejection', (e: PromiseRejectionEvent) => {
    const reason: unknown = e.reason;
    reportError(reason instanceof Error ? reason.message : String(reason), (reason as Error | undefined)?.stack);
  });
  return {
    post: (message) => api.postMessage(message),
    state: () => api.getState(),
    keep: (state) => api.setState(state),
    start(onMessage) {
      window.addEventListener('message', (event: MessageEvent<In>) => {
        // Only objects with a type: anything else is not from our extension.
        if (event.data && typeof event.data === 'object' && typeof event.data.type === 'string') {
          onMessage(event.data);
        }
      });
      api.postMessage({ type: 'viewLoaded' });
    },
  };
}
