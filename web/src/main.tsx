import { render } from 'preact';
import { readConfig } from './api/config';
import { Connection } from './api/connection';
import { loadWhoami } from './api/session';
import type { ServerMsg } from './api/protocol';
import { applyTheme, loadTheme } from './lib/prefs';
import { initStore } from './state/store';
import { App } from './ui/App';

applyTheme(loadTheme());
const config = readConfig();
const store = initStore(config);
const connection = new Connection(store);

/**
 * Test and benchmark hook (documented in tests/browser/README.md): lets a test feed frames
 * to the store as if they came from the server, and read simple counters. It gives no access
 * beyond what the page itself already has.
 */
declare global {
  interface Window {
    __rolloutsDashboard?: {
      applyFrames: (frames: ServerMsg[]) => void;
      rolloutCount: () => number;
      lastSeq: () => number;
    };
  }
}
window.__rolloutsDashboard = {
  applyFrames: (frames) => store.applyFrames(frames),
  rolloutCount: () => store.state.list.rollouts.size,
  lastSeq: () => store.state.list.lastSeq,
};

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App connection={connection} />, root);
  connection.start();
  void loadWhoami().then((whoami) => {
    if (whoami) store.set({ whoami, readOnly: store.state.readOnly || whoami.readOnly });
  });
}
