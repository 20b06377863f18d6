// On-call UX, round 4 (issue #15 items 11 and 7): Set image offers the images of the rollout's
// earlier revisions; the detail page says for how long a rollout has been waiting (for
// promotion, in a pause, Degraded), ticking.
//
// The waiting test runs against a --demo instance of its own: on the shared one demo.test.mjs
// promotes checkout-api past its indefinite pause, and it never comes back to it (it does not
// cycle). A fresh demo brings checkout-api to that pause by itself within seconds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiPath, axeViolations, DEMO_CLUSTER, env, launch, openForAxe, openPage, screenshot } from './browser.mjs';
import { startServer } from './server.mjs';

let browser;
let demo;
before(async () => {
  browser = await launch();
  demo = await startServer('demo-oncall3', ['--demo']);
});
after(async () => {
  await browser?.close();
  demo?.stop();
});

async function detailJson(page, base, ns, name) {
  const res = await page.request.get(`${base}${apiPath(DEMO_CLUSTER, ns, name)}`);
  assert.equal(res.status(), 200);
  return res.json();
}

/** "4m 12s", "42s", "1h 03m" back to seconds. */
function seconds(text) {
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([dhms])/g)) total += Number(n) * { d: 86400, h: 3600, m: 60, s: 1 }[unit];
  return total;
}

test('#15.11 Set image offers the images of earlier revisions, newest first, once each, never the one set now', async () => {
  const base = env('RD_DEMO_URL');
  const { page, problems } = await openForAxe(browser.context, base + 'rollout/prod-eu/demo-shop/checkout-api');
  await page.getByRole('heading', { level: 1, name: 'checkout-api' }).waitFor();
  // What the server says: the container's image now, and the revisions' images, newest first.
  const d = await detailJson(page, base, 'demo-shop', 'checkout-api');
  assert.equal(d.containers.length, 1);
  const { name: container, image: current } = d.containers[0];
  assert.ok(d.revisions.length >= 2, `checkout-api has ${d.revisions.length} revisions`);
  const earlier = [...new Set(d.revisions.flatMap((r) => r.images.map((i) => i.image)))].filter((i) => i !== current);
  assert.ok(earlier.length >= 1, 'an earlier revision runs another image');

  const input = page.getByLabel(`New image for container ${container}`);
  await input.waitFor();
  assert.equal(await input.inputValue(), current);
  // The datalist on the field: every earlier image once, newest revision first, not the current one.
  const listed = await page.evaluate((id) => [...document.querySelectorAll(`#${id} option`)].map((o) => o.value), await input.getAttribute('list'));
  assert.deepEqual(listed, earlier);
  assert.ok(!listed.includes(current));
  // Shown as buttons too (a datalist filters on the field's text, which starts as the current image).
  const group = page.getByRole('group', { name: `Images of earlier revisions for container ${container}` });
  await group.waitFor({ timeout: 10000 });
  const offered = await group.locator('button[data-image]').evaluateAll((bs) => bs.map((b) => b.getAttribute('data-image')));
  assert.deepEqual(offered, earlier.slice(0, 4));
  assert.ok(!offered.includes(current));
  // The newest earlier image reads as its tag; choosing it fills the field, and Set image asks first.
  const first = group.locator('button[data-image]').first();
  assert.equal((await first.innerText()).trim(), earlier[0].slice(earlier[0].lastIndexOf(':') + 1));
  await first.click();
  assert.equal(await input.inputValue(), earlier[0]);
  assert.equal(await first.getAttribute('aria-pressed'), 'true');
  await page.locator(`form.set-image button[data-action="set-image"]`).click();
  const dialog = page.getByRole('dialog', { name: 'Set image checkout-api in prod-eu?' });
  await dialog.waitFor();
  assert.ok((await dialog.innerText()).includes(`Set the image of container ${container} of checkout-api to ${earlier[0]}`));
  await screenshot(page, 'oncall3-set-image-suggestions');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], JSON.stringify(violations, null, 2));
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.consoleErrors, []);
  await page.close();
});

test('#15.7 the detail page says for how long checkout-api has waited for promotion, and it grows', async () => {
  const { page, problems } = await openForAxe(browser.context, demo.url + 'rollout/prod-eu/demo-shop/checkout-api');
  await page.getByRole('heading', { level: 1, name: 'checkout-api' }).waitFor();
  const waited = page.locator('.status-panel').getByText(/^Waiting for promotion for /);
  // The demo brings it to its indefinite pause by itself.
  await waited.waitFor({ timeout: 60000 });
  const first = (await waited.innerText()).trim();
  assert.match(first, /^Waiting for promotion for (\d+m \d\ds|\d+s)$/);
  assert.doesNotMatch(first, /\bin \d/);
  // From the pause condition's start, as the server sends it (same machine, same clock).
  const d = await detailJson(page, demo.url, 'demo-shop', 'checkout-api');
  assert.equal(d.summary.pauseKind, 'promotion');
  const start = Date.parse(d.pauseConditions.find((p) => p.reason === 'CanaryPauseStep').startTime);
  const expected = (Date.now() - start) / 1000;
  assert.ok(Math.abs(seconds(first) - expected) <= 3, `${first} vs ${expected.toFixed(1)} s since ${new Date(start).toISOString()}`);
  assert.match((await waited.getAttribute('title')) ?? '', new RegExp(`\\(${new Date(start).toISOString().replace(/[.]/g, '\\.')}\\)$`));
  // It ticks without a reload.
  await page.waitForFunction(
    (s) => {
      const p = [...document.querySelectorAll('.status-panel p')].find((e) => /^Waiting for promotion for /.test(e.textContent ?? ''));
      const m = p ? [...(p.textContent ?? '').matchAll(/(\d+)([hms])/g)] : [];
      return m.reduce((t, [, n, u]) => t + Number(n) * { h: 3600, m: 60, s: 1 }[u], 0) >= s + 2;
    },
    seconds(first),
    { timeout: 10000, polling: 250 },
  );
  assert.ok(seconds((await waited.innerText()).trim()) >= seconds(first) + 2);
  await screenshot(page, 'oncall3-waiting-for-promotion');
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], JSON.stringify(violations, null, 2));
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.consoleErrors, []);
  await page.close();
});

test('#15.7 an aborted, Degraded rollout says for how long, from its abort', async () => {
  const { page, problems } = await openPage(browser.context, demo.url + 'rollout/prod-eu/demo-search/search-indexer');
  await page.getByRole('heading', { level: 1, name: 'search-indexer' }).waitFor();
  const waited = page.locator('.status-panel').getByText(/^Degraded for /);
  await waited.waitFor({ timeout: 90000 });
  const d = await detailJson(page, demo.url, 'demo-search', 'search-indexer');
  assert.equal(d.summary.status, 'Degraded');
  const since = Date.parse(d.abortedAt ?? d.conditions.find((c) => c.reason === 'RolloutAborted').lastTransitionTime);
  const text = (await waited.innerText()).trim();
  assert.match(text, /^Degraded for (\d+m \d\ds|\d+s)$/);
  assert.ok(Math.abs(seconds(text) - (Date.now() - since) / 1000) <= 3, `${text} vs since ${new Date(since).toISOString()}`);
  assert.deepEqual(problems.pageErrors, []);
  await page.close();
});
