/** The server-sent event stream of cluster views, with its connection state. */

import type { ClusterView } from '../src/dashboard/cluster-view.js';

/** Whether the page is receiving updates. */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

/** Callbacks of {@link connectLiveStream}. */
export interface LiveStreamHandlers {
  onView(view: ClusterView): void;
  onState(state: ConnectionState): void;
}

/**
 * Opens `events` (relative to the page) and calls `onView` for each view. The browser's
 * EventSource reconnects by itself (the server asks for a retry after 1 s), so a restarted node
 * resumes the page without a reload.
 */
export function connectLiveStream(handlers: LiveStreamHandlers): () => void {
  const source = new EventSource(new URL('events', document.baseURI));
  handlers.onState('connecting');
  source.addEventListener('open', () => handlers.onState('live'));
  source.addEventListener('error', () => handlers.onState('reconnecting'));
  source.addEventListener('view', (event) => {
    handlers.onState('live');
    handlers.onView(JSON.parse((event as MessageEvent<string>).data) as ClusterView);
  });
  return () => source.close();
}
