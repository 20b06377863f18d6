// The list page against --from-files with the upstream fixtures.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { env, launch, openPage, row, screenshot } from './browser.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('list shows fixture rollouts with status, step, strategy and images', async () => {
  const { page, problems } = await openPage(browser.context, env('RD_FILES_URL'));
  await page.getByRole('link', { name: 'bluegreen-demo', exact: true }).waitFor();
  const bg = row(page, 'jesse-test', 'bluegreen-demo', 'files');
  await assert.doesNotReject(bg.getByText('Paused', { exact: true }).first().waitFor());
  assert.match(await bg.innerText(), /BlueGreen/);
  assert.match(await bg.innerText(), /argoproj\/rollouts-demo|rollouts-demo/);
  const canary = row(page, 'jesse-test', 'canary-demo', 'files');
  assert.match(await canary.innerText(), /Degraded|Paused|Progressing|Healthy/);
  // Every fixture status appears on the filter chips with a count.
  const chips = await page.getByRole('group', { name: 'Status filters' }).innerText();
  assert.match(chips, /Paused\s*\d+/);
  // The file source is labelled.
  await page.getByText('Offline snapshot (files)').waitFor();
  await page.getByText('Live').waitFor();
  await screenshot(page, 'list-files');
  assert.deepEqual(problems.consoleErrors, []);
  assert.deepEqual(problems.pageErrors, []);
  assert.deepEqual(problems.foreignRequests, []);
});

test('a canary at step 0 shows 0/8 in the list', async () => {
  const { page } = await openPage(browser.context, env('RD_FILES_URL'));
  await page.locator('.row[data-key]').first().waitFor();
  const steps = await page.locator('.row[data-key] .c-step').allInnerTexts();
  assert.ok(steps.some((s) => /^\d+\/\d+$/.test(s.trim())), `steps: ${steps.join(', ')}`);
});

test('search, status filter and deep link are kept in the URL', async () => {
  const { page, problems } = await openPage(browser.context, env('RD_FILES_URL'));
  await page.locator('.row[data-key]').first().waitFor();
  const total = await page.locator('.row[data-key]').count();
  await page.keyboard.press('/');
  await page.keyboard.type('bluegreen');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('q') === 'bluegreen');
  await page.waitForFunction(() => document.querySelectorAll('.row[data-key]').length === 1);
  assert.ok(total > 1);
  // Negation removes it again.
  const url = new URL(page.url());
  url.searchParams.set('q', '!bluegreen');
  await page.goto(url.href);
  await page.locator('.row[data-key]').first().waitFor();
  assert.equal(await row(page, 'jesse-test', 'bluegreen-demo', 'files').count(), 0);
  // Status filter through the chips.
  await page.goto(env('RD_FILES_URL'));
  await page.locator('.row[data-key]').first().waitFor();
  await page.getByRole('button', { name: /^Paused/ }).click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('status') === 'Paused');
  const statuses = await page.locator('.row[data-key] .c-status .badge').allInnerTexts();
  assert.ok(statuses.length > 0 && statuses.every((s) => s.trim() === 'Paused'), statuses.join(','));
  // Reloading keeps the filter (deep link).
  await page.reload();
  await page.locator('.row[data-key]').first().waitFor();
  assert.equal(await page.getByRole('button', { name: /^Paused/ }).getAttribute('aria-pressed'), 'true');
  assert.deepEqual(problems.pageErrors, []);
});

test('keyboard: j selects, Enter opens the detail, Escape returns; ? opens help', async () => {
  const { page } = await openPage(browser.context, env('RD_FILES_URL'));
  await page.locator('.row[data-key]').first().waitFor();
  await page.keyboard.press('?');
  await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
  await page.keyboard.press('Escape');
  await page.keyboard.press('j');
  await page.locator('.row-selected').waitFor();
  const key = await page.locator('.row-selected').getAttribute('data-key');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/rollout\//);
  const [cluster, ns, name] = key.split('/');
  assert.equal(cluster, 'files', 'a --from-files rollout is in the cluster `files`');
  assert.ok(page.url().endsWith(`rollout/${cluster}/${ns}/${name}`), page.url());
  await page.getByRole('heading', { level: 1, name }).waitFor();
  await page.keyboard.press('Escape');
  await page.locator('.row[data-key]').first().waitFor();
});

test('card view and favorites (cluster-qualified, persisted; old ones migrated)', async () => {
  const { page } = await openPage(browser.context, env('RD_FILES_URL') + '?view=cards');
  await page.locator('.card').first().waitFor();
  await page.getByRole('button', { name: 'Add bluegreen-demo to favorites' }).click();
  await page.getByRole('button', { name: 'Remove bluegreen-demo from favorites' }).waitFor();
  const stored = await page.evaluate(() => localStorage.getItem('rolloutsDashboard.favorites'));
  assert.equal(stored, JSON.stringify(['files/jesse-test/bluegreen-demo']), 'cluster-qualified (protocol 5)');
  await screenshot(page, 'list-cards');
  await page.getByRole('button', { name: /Favorites/ }).click();
  await page.waitForFunction(() => document.querySelectorAll('.card').length === 1);
  // A favorite saved before clusters (namespace/name) becomes that rollout's in the cluster.
  await page.evaluate(() => localStorage.setItem('rolloutsDashboard.favorites', JSON.stringify(['jesse-test/canary-demo'])));
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.getByRole('button', { name: 'Remove canary-demo from favorites' }).waitFor({ timeout: 15000 });
  assert.equal(await page.evaluate(() => localStorage.getItem('rolloutsDashboard.favorites')), JSON.stringify(['files/jesse-test/canary-demo']));
});
