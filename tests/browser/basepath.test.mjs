// The dashboard under --base-path /rollouts: deep links, assets, API and stream all relative.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { env, launch, openPage } from './browser.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('deep link to a detail page under the base path', async () => {
  const base = env('RD_BASE_URL');
  assert.match(base, /\/rollouts\/$/);
  const { page, problems } = await openPage(browser.context, `${base}rollout/files/jesse-test/bluegreen-demo`);
  await page.getByRole('heading', { level: 1, name: 'bluegreen-demo' }).waitFor();
  await page.getByText('Live').waitFor();
  const assets = await page.evaluate(() => [...document.querySelectorAll('script[src],link[rel=stylesheet]')].map((e) => e.src || e.href));
  assert.ok(assets.length >= 2 && assets.every((u) => new URL(u).pathname.startsWith('/rollouts/assets/')), assets.join(' '));
  await page.getByRole('link', { name: '← All rollouts' }).click();
  await page.waitForURL(`${base}`);
  await page.locator('.row[data-key]').first().waitFor();
  // A link from before clusters (rollout/{ns}/{name}) leads to the only cluster's rollout, under the base path.
  await page.goto(`${base}rollout/jesse-test/bluegreen-demo`);
  await page.waitForURL(`${base}rollout/files/jesse-test/bluegreen-demo`);
  await page.getByRole('heading', { level: 1, name: 'bluegreen-demo' }).waitFor();
  // Filter deep link under the base path
  await page.goto(`${base}?q=bluegreen`);
  await page.waitForFunction(() => document.querySelectorAll('.row[data-key]').length === 1);
  assert.deepEqual(problems.consoleErrors, []);
  assert.deepEqual(problems.pageErrors, []);
});
