// Launching Debian's chromium through playwright-core (no browser downloads) and page helpers.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { HERE } from './server.mjs';

const require = createRequire(import.meta.url);
export const AXE_PATH = require.resolve('axe-core/axe.min.js');
export const SCREENSHOTS = join(HERE, 'screenshots');

export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests through tests/browser/run.sh`);
  return v;
}

/** A fresh browser context with its own temporary profile. Call `close()` when done. */
export async function launch({ colorScheme = 'light', viewport = { width: 1440, height: 900 } } = {}) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'rd-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
    viewport,
    colorScheme,
    reducedMotion: 'reduce',
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** A new page that records console errors, page errors, dialogs and requests to other hosts. */
export async function openPage(context, url) {
  const page = await context.newPage();
  const problems = { consoleErrors: [], pageErrors: [], dialogs: [], foreignRequests: [] };
  const origin = new URL(url).origin;
  page.on('console', (m) => {
    if (m.type() === 'error') problems.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => problems.pageErrors.push(String(e)));
  page.on('dialog', (d) => {
    problems.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('ws://' + new URL(url).host)) problems.foreignRequests.push(u);
  });
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  return { page, problems };
}

/** A page whose CSP is bypassed (not the app's: axe is injected as a script tag at the end). */
export async function openForAxe(context, url) {
  const opened = await openPage(context, 'about:blank');
  const cdp = await opened.page.context().newCDPSession(opened.page);
  await cdp.send('Page.setBypassCSP', { enabled: true });
  await opened.page.goto(url, { waitUntil: 'domcontentloaded' });
  return opened;
}

/** Waits (the demo brings it there by itself) until the page's rollout is Paused with Promote enabled. */
export async function waitUntilPromotable(page, timeout = 60000) {
  await page.waitForFunction(
    () => {
      const b = [...document.querySelectorAll('button[data-action="promote"]')][0];
      return b && !b.disabled && document.querySelector('.status-panel')?.textContent?.includes('Paused');
    },
    null,
    { timeout },
  );
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Runs axe-core and returns the serious and critical violations. */
export async function axeViolations(page) {
  await page.addScriptTag({ path: AXE_PATH });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' :: ' + n.failureSummary) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** The clusters of the harness's instances (protocol 5): `--demo`'s first and `--from-files`'. */
export const DEMO_CLUSTER = 'prod-eu';
export const DEMO_STAGING = 'staging';
export const FILES_CLUSTER = 'files';

/** The detail page's path (relative to the base) of a rollout. */
export function detailPath(cluster, namespace, name) {
  return `rollout/${encodeURIComponent(cluster)}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

/** A rollout's REST path (relative to the base). */
export function apiPath(cluster, namespace, name) {
  return `api/v1/clusters/${encodeURIComponent(cluster)}/namespaces/${encodeURIComponent(namespace)}/rollouts/${encodeURIComponent(name)}`;
}

/**
 * Row (table view) or card of a rollout by cluster/namespace/name (keys are
 * `cluster/namespace/name`); without a cluster, of that namespace/name in any cluster.
 */
export function row(page, namespace, name, cluster = null) {
  return cluster === null ? page.locator(`[data-key$="/${namespace}/${name}"]`) : page.locator(`[data-key="${cluster}/${namespace}/${name}"]`);
}
