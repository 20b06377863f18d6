// Whether the page may act on what it shows. Pure.
//
// Actions are decided on the view the person sees; a view that no longer follows the server
// (the stream is down and no poll is fresh) must not be acted on: the page dims it, stops its
// countdowns and disables its buttons, saying why.

import { formatClock } from './format';

/** Why actions are disabled, or null while the data follows the server (live, or freshly polled). */
export function offlineReason(conn: string, pollFresh: boolean, since: number | null): string | null {
  if (conn === 'open' || pollFresh) return null;
  const when = since !== null ? ` since ${formatClock(since)}` : '';
  return `Not connected to the dashboard server${when}: what you see may be out of date. Actions are disabled until the page is live again.`;
}
