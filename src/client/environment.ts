/**
 * What the client may learn from its host about connectivity. A retry waits out its backoff delay,
 * but when the host says the network is back or the user is looking again, waiting is pointless.
 */
export interface ClientEnvironment {
  /** False while the host knows the network is down; the client then waits in 'offline'. */
  isOnline(): boolean;
  /** Calls back when the network comes back. Returns the function that stops listening. */
  onOnline(callback: () => void): () => void;
  /** Calls back when the page becomes visible again. Returns the function that stops listening. */
  onVisible(callback: () => void): () => void;
  /**
   * Calls back when the host reports that the network went away (optional). The socket is then
   * almost certainly dead, and a browser may keep a dead WebSocket "open" for minutes: the client
   * drops it at once and waits in 'offline'. Returns the function that stops listening.
   */
  onOffline?(callback: () => void): () => void;
}

/** A host that knows nothing about connectivity (Node): always online, no events. */
export const alwaysOnline: ClientEnvironment = {
  isOnline: () => true,
  onOnline: () => () => {},
  onVisible: () => () => {},
  onOffline: () => () => {},
};

interface EventSource {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

interface BrowserGlobals {
  navigator?: { onLine?: boolean };
  addEventListener?: EventSource['addEventListener'];
  removeEventListener?: EventSource['removeEventListener'];
  document?: EventSource & { visibilityState?: string };
}

function listen(target: EventSource | undefined, type: string, listener: () => void): () => void {
  if (target === undefined || typeof target.addEventListener !== 'function') return () => {};
  target.addEventListener(type, listener);
  return () => target.removeEventListener(type, listener);
}

/**
 * The environment of the current host: `navigator.onLine`, the window's `online` and `offline`
 * events and the document's `visibilitychange` event where they exist (browsers, web workers in part), and
 * `alwaysOnline` behaviour where they do not (Node, Deno without a window).
 */
export function detectEnvironment(host: object = globalThis): ClientEnvironment {
  const g = host as BrowserGlobals;
  const windowTarget =
    typeof g.addEventListener === 'function' && typeof g.removeEventListener === 'function'
      ? (g as EventSource)
      : undefined;
  return {
    // Only an explicit `false` means offline: `onLine` is missing in Node and unreliable as `true`.
    isOnline: () => g.navigator?.onLine !== false,
    onOnline: (callback) => listen(windowTarget, 'online', callback),
    onOffline: (callback) => listen(windowTarget, 'offline', callback),
    onVisible: (callback) =>
      listen(g.document, 'visibilitychange', () => {
        if (g.document?.visibilityState === 'visible') callback();
      }),
  };
}
